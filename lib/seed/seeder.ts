import { EventEmitter } from 'node:events'
import type { Metainfo } from '../metainfo/types.js'
import type { Announcer, TransferStats } from '../tracker/announcer.js'
import type { StorageError } from '../util/errors.js'
import type { BitField } from '../wire/bitfield.js'
import type { Message } from '../wire/messages.js'
import { DEFAULT_REQQ } from '../wire/peer-connection-options.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { Choker, type ChokerOptions, type ChokerPeer } from './choker.js'
import type { PeerListener } from './listener.js'
import { Uploader, type PieceReader, type UploaderOptions } from './uploader.js'

/**
 * A seeding session for one torrent: peers that reach us through the listener (or connections
 * handed over with `addConnection`) get our bitfield (BEP 6 have all when we have everything), an
 * Uploader each, and upload slots from the Choker (BEP 3 tit-for-tat, ranked by upload rate once
 * we are a seed). The Announcer, if given, tells the trackers we are here with `left` computed
 * from `have` (0 for a seed: it sends `started`, never `completed`, since we downloaded nothing).
 *
 * This is the seeder's own engine: it reads each connection's messages (the only reader) and
 * hands `request`/`cancel` to the Uploader, interest changes to the Choker.
 */
export type SeedGeometry = Pick<Metainfo, 'infoHashHex' | 'pieceLength' | 'pieceCount' | 'lastPieceLength' | 'length'>

export interface SeederOptions {
  readonly meta: SeedGeometry
  readonly reader: PieceReader
  /** Our verified pieces (shared with whoever verifies them). */
  readonly have: BitField
  /** Must already listen; the seeder registers its torrent on it, and never closes it. */
  readonly listener: PeerListener
  /** Built by the caller with `getStats: () => seeder.stats()`; started and stopped here. */
  readonly announcer?: Announcer
  /** Open connections at most (default 50). */
  readonly maxPeers?: number
  readonly choker?: Omit<ChokerOptions, 'isSeed'>
  readonly uploader?: Omit<UploaderOptions, 'reader' | 'have' | 'geometry'>
  readonly now?: () => number
}

export interface SeederEvents {
  peer: [conn: PeerConnection]
  'peer-closed': [conn: PeerConnection, err: Error | undefined]
  'read-error': [err: StorageError]
}

export const DEFAULT_MAX_PEERS = 50

interface Peer {
  readonly conn: PeerConnection
  readonly uploader: Uploader
  readonly view: ChokerPeer
}

export class Seeder extends EventEmitter<SeederEvents> {
  readonly choker: Choker
  private readonly _opts: SeederOptions
  private readonly _peers = new Map<PeerConnection, Peer>()
  private readonly _now: () => number
  private readonly _onPeer: (conn: PeerConnection, hex: string) => void
  private _uploadedByClosed = 0
  private _started = false
  private _closing: Promise<void> | undefined

  constructor (opts: SeederOptions) {
    super()
    this._opts = opts
    this._now = opts.now ?? Date.now
    this.choker = new Choker({ ...opts.choker, isSeed: () => opts.have.hasAll(), now: opts.choker?.now ?? this._now })
    this._onPeer = (conn, hex) => { if (hex === opts.meta.infoHashHex) this.addConnection(conn) }
  }

  get peerCount (): number { return this._peers.size }
  get connections (): IterableIterator<PeerConnection> { return this._peers.keys() }

  /** Piece bytes sent, closed connections included. */
  get uploaded (): number {
    let n = this._uploadedByClosed
    for (const p of this._peers.values()) n += p.uploader.uploaded
    return n
  }

  /** For the Announcer's `getStats`. */
  stats (): TransferStats {
    const { meta, have } = this._opts
    let left = 0
    for (let i = 0; i < meta.pieceCount; i++) if (!have.get(i)) left += i === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength
    return { uploaded: this.uploaded, downloaded: 0, left }
  }

  start (): void {
    if (this._started || this._closing !== undefined) return
    this._started = true
    const { listener, meta, have, announcer } = this._opts
    listener.serve(meta.infoHashHex, {
      pieceCount: meta.pieceCount,
      have,
      extensions: { reqq: this._opts.uploader?.maxQueued ?? DEFAULT_REQQ, port: listener.port }
    })
    listener.on('peer', this._onPeer)
    this.choker.start()
    if (announcer !== undefined) {
      if (have.hasAll()) announcer.complete()
      announcer.start()
    }
  }

  /**
   * Serves a connection opened elsewhere (an outbound dial, or the listener). False, and the
   * connection is closed, when we are at maxPeers or closing.
   */
  addConnection (conn: PeerConnection): boolean {
    if (this._closing !== undefined || this._peers.size >= (this._opts.maxPeers ?? DEFAULT_MAX_PEERS) || conn.destroying) {
      conn.destroy()
      return false
    }
    const uploader = new Uploader(conn, { ...this._opts.uploader, reader: this._opts.reader, have: this._opts.have, geometry: this._opts.meta, now: this._opts.uploader?.now ?? this._now })
    uploader.on('read-error', (err) => { this.emit('read-error', err) })
    const connectedAt = this._now()
    const view: ChokerPeer = {
      get interested () { return conn.peerInterested },
      downloadRate: 0,
      get uploadRate () { return uploader.uploadRate() },
      connectedAt,
      get isChoked () { return uploader.choking },
      unchoke: () => { uploader.unchoke() },
      choke: () => { uploader.choke() }
    }
    const peer: Peer = { conn, uploader, view }
    this._peers.set(conn, peer)
    let error: Error | undefined
    conn.on('error', (err: Error) => { error = err })
    conn.on('data', (m: unknown) => { this._onMessage(peer, m as Message) })
    conn.once('close', () => {
      this._peers.delete(conn)
      this._uploadedByClosed += uploader.uploaded
      this.choker.remove(view)
      this.emit('peer-closed', conn, error)
    })
    this.emit('peer', conn)
    this.choker.add(view)
    return true
  }

  /** Stops serving: unregisters from the listener, closes every connection, announces `stopped`. */
  close (): Promise<void> {
    this._closing ??= (async () => {
      const { listener, meta, announcer } = this._opts
      listener.unserve(meta.infoHashHex)
      listener.off('peer', this._onPeer)
      this.choker.stop()
      for (const conn of [...this._peers.keys()]) conn.destroy()
      // Bounded by the Announcer's stopTimeoutMs.
      if (announcer !== undefined && this._started) await announcer.stop()
    })()
    return this._closing
  }

  private _onMessage (peer: Peer, m: Message): void {
    switch (m.type) {
      case 'request': case 'cancel': peer.uploader.onMessage(m); return
      case 'interested': case 'notInterested': this.choker.fill(); return
      case 'bitfield': case 'haveAll': case 'have': {
        // Two seeds have nothing to say to each other.
        if (this._opts.have.hasAll() && peer.conn.peerPieces?.hasAll() === true) peer.conn.destroy()
        return
      }
      default:
    }
  }
}
