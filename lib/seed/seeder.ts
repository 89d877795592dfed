import { EventEmitter } from 'node:events'
import type { UtpMode } from '../utp/dial-policy.js'
import type { UtpTransport } from '../utp/transport.js'
import type { Metainfo } from '../metainfo/types.js'
import type { Announcer, TransferStats } from '../tracker/announcer.js'
import type { StorageError } from '../util/errors.js'
import type { BitField } from '../wire/bitfield.js'
import type { Message } from '../wire/messages.js'
import { connect, type EncryptionPolicy } from '../wire/connect.js'
import { DEFAULT_REQQ, type OurExtensions } from '../wire/peer-connection-options.js'
import { PeerPool, type PeerAddress } from '../swarm/peer-pool.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { EXTENSION_IDS } from '../extensions/extension-ids.js'
import { routeExtended } from '../extensions/extension-router.js'
import { MetadataResponder } from '../extensions/metadata-responder.js'
import { Choker, type ChokerOptions } from './choker.js'
import type { PeerListener } from './listener.js'
import { ServedPeers, type ServedPeer } from './served-peers.js'
import type { PieceReader, UploaderOptions } from './uploader.js'

/**
 * A seeding session for one torrent: peers that reach us through the listener (or connections
 * handed over with `addConnection`) get our bitfield (BEP 6 have all when we have everything), an
 * Uploader each, and upload slots from the Choker (BEP 3 tit-for-tat, ranked by upload rate once
 * we are a seed). The Announcer, if given, tells the trackers we are here with `left` computed
 * from `have` (0 for a seed: it sends `started`, never `completed`, since we downloaded nothing),
 * and the peers it hears of are dialed (a PeerPool: bounded half-open dials, retries with backoff),
 * since leechers already in the swarm only learn of us at their next announce.
 *
 * This is the seeder's own engine: it reads each connection's messages (the only reader) and
 * hands `request`/`cancel` to the Uploader, interest changes to the Choker.
 */
export type SeedGeometry = Pick<Metainfo, 'infoHash' | 'infoHashHex' | 'pieceLength' | 'pieceCount' | 'lastPieceLength' | 'length'>

export interface SeederOptions {
  readonly meta: SeedGeometry
  readonly reader: PieceReader
  /** Our verified pieces (shared with whoever verifies them). */
  readonly have: BitField
  /** Must already listen; the seeder registers its torrent on it, and never closes it. */
  readonly listener: PeerListener
  /** Built by the caller with `getStats: () => seeder.stats()`; started and stopped here. */
  readonly announcer?: Announcer
  /** Open connections at most, inbound and outbound (default 50). */
  readonly maxPeers?: number
  /** Dial the peers the Announcer finds (default true). */
  readonly dial?: boolean
  /** Dials in flight at most (default 8). */
  readonly maxHalfOpen?: number
  readonly choker?: Omit<ChokerOptions, 'isSeed'>
  /** The info dict's bytes: served to peers that came by magnet (BEP 9 ut_metadata). */
  readonly infoBytes?: Uint8Array
  readonly uploader?: Omit<UploaderOptions, 'reader' | 'have' | 'geometry'>
  /** MSE/PE policy for the peers we dial (the listener has its own). */
  readonly encryption?: EncryptionPolicy
  readonly now?: () => number
  /** uTP (BEP 29) for our dials (`seed --peer`, tracker peers): the transport and the dial policy. */
  readonly utp?: UtpTransport
  readonly utpMode?: UtpMode
}

export interface SeederEvents {
  peer: [conn: PeerConnection]
  'peer-closed': [conn: PeerConnection, err: Error | undefined]
  'read-error': [err: StorageError]
}

export const DEFAULT_MAX_PEERS = 50
const DEFAULT_MAX_HALF_OPEN = 8
/** A peer that would not take a connection is tried once more, a minute later. */
const DIAL_RETRIES = 1
const DIAL_RETRY_BASE_MS = 60_000

type Peer = ServedPeer<PeerConnection>

export class Seeder extends EventEmitter<SeederEvents> {
  readonly choker: Choker
  private readonly _opts: SeederOptions
  private readonly _peers: ServedPeers<PeerConnection, PeerConnection>
  private readonly _now: () => number
  private readonly _onPeer: (conn: PeerConnection, hex: string) => void
  private readonly _pool: PeerPool<PeerConnection>
  private readonly _metadata: MetadataResponder | undefined
  private _started = false
  private _closing: Promise<void> | undefined

  constructor (opts: SeederOptions) {
    super()
    this._opts = opts
    this._metadata = opts.infoBytes === undefined ? undefined : new MetadataResponder({ infoBytes: opts.infoBytes })
    this._now = opts.now ?? Date.now
    this.choker = new Choker({ ...opts.choker, isSeed: () => opts.have.hasAll(), now: opts.choker?.now ?? this._now })
    this._peers = new ServedPeers(this.choker, { ...opts.uploader, reader: opts.reader, have: opts.have, geometry: opts.meta }, this._now)
    this._peers.on('read-error', err => { this.emit('read-error', err) })
    this._onPeer = (conn, hex) => { if (hex === opts.meta.infoHashHex) this.addConnection(conn) }
    const maxPeers = opts.maxPeers ?? DEFAULT_MAX_PEERS
    this._pool = new PeerPool<PeerConnection>({
      maxPeers,
      maxHalfOpen: opts.maxHalfOpen ?? DEFAULT_MAX_HALF_OPEN,
      maxRetries: DIAL_RETRIES,
      retryBaseMs: DIAL_RETRY_BASE_MS,
      dial: async (addr, signal) => await connect({
        host: addr.host,
        port: addr.port,
        infoHash: opts.meta.infoHash,
        pieceCount: opts.meta.pieceCount,
        have: opts.have,
        peerId: opts.listener.peerId,
        extensions: this._extensions(),
        ...(opts.encryption === undefined ? {} : { encryption: opts.encryption }),
        signal,
        ...(opts.utp === undefined ? {} : { utp: opts.utp }),
        ...(opts.utpMode === undefined ? {} : { utpMode: opts.utpMode })
      })
    })
    this._pool.on('dial-error', () => {})
    this._pool.on('connection', (conn, addr) => {
      // A peer we served counts as useful: its retry budget starts over.
      if (this.addConnection(conn)) conn.once('close', () => { this._pool.disconnected(addr, conn.uploaded > 0) })
      else this._pool.disconnected(addr, false)
    })
  }

  get peerCount (): number { return this._peers.size }
  get connections (): IterableIterator<PeerConnection> { return this._peers.keys() }

  /** Piece bytes sent, closed connections included. */
  get uploaded (): number { return this._peers.uploaded }

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
    listener.serve(meta.infoHashHex, { pieceCount: meta.pieceCount, have, extensions: this._extensions() })
    listener.on('peer', this._onPeer)
    this.choker.start()
    if (announcer !== undefined) {
      if (have.hasAll()) announcer.complete()
      announcer.start()
      if (this._opts.dial !== false) void this._dialFrom(announcer)
    }
  }

  /** Dials a peer we were told of (`seed --peer`): the pool's bounds and retries apply. */
  dialPeer (addr: PeerAddress): void {
    if (this._closing === undefined) this._pool.add(addr, 'manual')
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
    // A pure seeder gets nothing from its peers: slots go by upload rate.
    const peer = this._peers.add(conn, conn, () => 0)
    conn.consume((m) => { this._onMessage(peer, m) })
    conn.whenClosed((reason) => {
      this._peers.remove(conn)
      this.emit('peer-closed', conn, reason ?? undefined)
    })
    this.emit('peer', conn)
    return true
  }

  /** Stops serving: unregisters from the listener, closes every connection, announces `stopped`. */
  close (): Promise<void> {
    this._closing ??= (async () => {
      const { listener, meta, announcer } = this._opts
      listener.unserve(meta.infoHashHex)
      listener.off('peer', this._onPeer)
      this.choker.stop()
      this._pool.close()
      for (const conn of [...this._peers.keys()]) conn.destroy()
      // Bounded by the Announcer's stopTimeoutMs.
      if (announcer !== undefined && this._started) await announcer.stop()
    })()
    return this._closing
  }

  private _extensions (): OurExtensions {
    // We advertise libtorrent's 250 and hold far more (rtorrent ignores reqq): a lower maxQueued is advertised as is.
    const base = { reqq: Math.min(this._opts.uploader?.maxQueued ?? DEFAULT_REQQ, DEFAULT_REQQ), port: this._opts.listener.port }
    const info = this._opts.infoBytes
    return info === undefined ? base : { ...base, m: { ut_metadata: EXTENSION_IDS.ut_metadata }, metadataSize: info.length }
  }

  /** Until the Announcer stops (its peer stream ends), every address it finds goes to the pool. */
  private async _dialFrom (announcer: Announcer): Promise<void> {
    try {
      for await (const addr of announcer.peers) this._pool.add(addr, 'tracker')
    } catch {
      // The stream was destroyed under us: the session is closing.
    }
  }

  private _onMessage (peer: Peer, m: Message): void {
    switch (m.type) {
      case 'request': case 'cancel': peer.uploader.onMessage(m); return
      case 'interested': case 'notInterested': this.choker.fill(); return
      case 'extended':
        if (this._metadata !== undefined) routeExtended(peer.conn, m.id, m.payload, { responder: this._metadata })
        return
      case 'bitfield': case 'haveAll': case 'have': {
        // Two seeds have nothing to say to each other.
        if (this._opts.have.hasAll() && peer.conn.peerPieces?.hasAll() === true) peer.conn.destroy()
        return
      }
      default:
    }
  }
}
