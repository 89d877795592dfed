import { EventEmitter } from 'node:events'
import type { UtpMode } from '../utp/dial-policy.js'
import type { UtpTransport } from '../utp/transport.js'
import type { Metainfo } from '../metainfo/types.js'
import { uploadGeometry } from '../metainfo/geometry.js'
import type { Announcer, TransferStats } from '../tracker/announcer.js'
import type { StorageError } from '../util/errors.js'
import type { BitField } from '../wire/bitfield.js'
import { connect, type EncryptionPolicy } from '../wire/connect.js'
import type { OurExtensions } from '../wire/peer-connection-options.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { EXTENSION_IDS } from '../extensions/extension-ids.js'
import type { PeerAddress } from '../swarm/peer-pool.js'
import type { PeerSession } from '../swarm/peer-session.js'
import { Swarm, type PieceSink, type SwarmUpload, type WirePeer } from '../swarm/swarm.js'
import { UploadSide } from '../swarm/upload-side.js'
import { v2Handshake, wirePeer } from '../swarm/wire-peer.js'
import type { Choker, ChokerOptions } from './choker.js'
import type { PeerListener } from './listener.js'
import type { PieceReader, UploaderOptions } from './uploader.js'

/**
 * A seeding session for one torrent, as a mode of the one engine: a Swarm in seed mode
 * (lib/swarm/seed-mode.ts: complete from the start, nothing picked, no interest sent, seeds
 * dropped) with an UploadSide (an Uploader per peer, one Choker ranking by upload rate once we
 * are a seed). Peers that reach us through the listener (or connections handed over with
 * `addConnection`) join the swarm as incoming peers within its pool's cap; the peers the
 * Announcer returns and those given to `dialPeer` are dialed by the swarm's pool (bounded
 * half-open dials, retries with the pool's backoff), since leechers already in the swarm only
 * learn of us at their next announce. BEP 9 metadata, BEP 11 PEX, bans and the duplicate and
 * self-connection checks are the swarm's, as when downloading.
 *
 * This class only assembles those parts and keeps the seed's own API: the listener registration,
 * the Announcer (`left` computed from `have`: 0 for a seed, which sends `started` and never
 * `completed`, since it downloaded nothing), and the per-connection events.
 */
export type SeedGeometry = Pick<Metainfo, 'infoHash' | 'infoHashHex' | 'pieceLength' | 'pieceCount' | 'lastPieceLength' | 'length'> & { readonly version?: Metainfo['version'], readonly infoHashV2?: Uint8Array }

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
/**
 * The `reqq` (BEP 10) a seed advertises: 2000, libtorrent's own default
 * (max_allowed_in_request_queue). A leecher keeps at most that many requests out to us, so it
 * bounds what is in flight: 250 (the download side's DEFAULT_REQQ) is 4 MiB, 16 ms at
 * 250 MiB/s, and a libtorrent leecher (max_out_request_queue 1500 in the benchmark) waited on us
 * each time a process of the two was off the CPU longer than that. Held, a request costs ~100
 * bytes (held-requests.ts), far below the 8192 we hold anyway.
 */
export const SEED_REQQ = 2000
const DEFAULT_MAX_HALF_OPEN = 8

/** A seed writes nothing: every piece it serves is verified already. */
const NO_SINK: PieceSink = { write: () => true, end: () => undefined, destroy: () => {} }

export class Seeder extends EventEmitter<SeederEvents> {
  readonly choker: Choker
  /** The engine: its pool dials, its sessions are the peers we serve. */
  readonly swarm: Swarm
  private readonly _opts: SeederOptions
  private readonly _side: UploadSide
  /** The wire connection behind each WirePeer we made, and behind each peer the swarm took. */
  private readonly _connOf = new WeakMap<WirePeer, PeerConnection>()
  private readonly _conns = new Map<PeerSession, PeerConnection>()
  private readonly _onPeer: (conn: PeerConnection, hex: string, remote: PeerAddress | undefined) => void
  /** Addresses for connections handed over without one (a uTP stream in a test): the pool's cap counts them. */
  private _unaddressed = 0
  private _started = false
  private _closing: Promise<void> | undefined

  constructor (opts: SeederOptions) {
    super()
    this._opts = opts
    const now = opts.now ?? Date.now
    const { have } = opts
    this._side = new UploadSide({
      reader: opts.reader,
      have,
      // BEP 52: a v2 file's last piece is asked for whole (libtorrent does), padding included.
      geometry: uploadGeometry(opts.meta),
      complete: () => have.hasAll(),
      choker: { ...opts.choker, now: opts.choker?.now ?? now },
      ...(opts.uploader === undefined ? {} : { uploader: opts.uploader }),
      now
    })
    this._side.on('read-error', err => { this.emit('read-error', err) })
    this.choker = this._side.choker
    const side = this._side
    const upload: SwarmUpload = {
      open: (session, peer) => {
        side.open(session, peer)
        const conn = this._connOf.get(peer)
        if (conn === undefined) return
        this._conns.set(session, conn)
        this.emit('peer', conn)
      },
      onMessage: (session, m) => { side.onMessage(session, m) },
      close: (session) => {
        side.close(session)
        const conn = this._conns.get(session)
        if (conn === undefined) return
        this._conns.delete(session)
        this.emit('peer-closed', conn, conn.closeReason ?? undefined)
      },
      stop: () => { side.stop() }
    }
    this.swarm = new Swarm({
      meta: swarmMeta(opts.meta, opts.infoBytes),
      peerId: opts.listener.peerId,
      sink: NO_SINK,
      // We fetch nothing: what we serve is all we want, and it is all there (read once, here).
      wanted: have,
      have,
      maxPeers: opts.maxPeers ?? DEFAULT_MAX_PEERS,
      maxHalfOpen: opts.maxHalfOpen ?? DEFAULT_MAX_HALF_OPEN,
      connect: async (addr, signal) => this._wrap(await connect({
        host: addr.host,
        port: addr.port,
        infoHash: opts.meta.infoHash,
        pieceCount: opts.meta.pieceCount,
        have,
        peerId: opts.listener.peerId,
        extensions: this._extensions(),
        ...(opts.encryption === undefined ? {} : { encryption: opts.encryption }),
        ...v2Handshake(opts.meta),
        signal,
        ...(opts.utp === undefined ? {} : { utp: opts.utp }),
        ...(opts.utpMode === undefined ? {} : { utpMode: opts.utpMode })
      })),
      upload,
      seed: { haveAll: () => have.hasAll() }
    })
    // The swarm fails only on a stall, which a complete swarm never has; peers' errors are theirs.
    this.swarm.on('error', () => {})
    this._onPeer = (conn, hex, remote) => { if (hex === opts.meta.infoHashHex) this.addConnection(conn, remote) }
  }

  get peerCount (): number { return this._conns.size }
  get connections (): IterableIterator<PeerConnection> { return this._conns.values() }

  /** Piece bytes sent, closed connections included. */
  get uploaded (): number { return this._side.uploaded }

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
    this._side.start()
    this.swarm.start()
    if (announcer !== undefined) {
      if (have.hasAll()) announcer.complete()
      announcer.start()
      if (this._opts.dial !== false) void this._dialFrom(announcer)
    }
  }

  /** Dials a peer we were told of (`seed --peer`): the pool's bounds and retries apply. */
  dialPeer (addr: PeerAddress): void {
    if (this._closing === undefined) this.swarm.addPeer(addr, 'manual')
  }

  /**
   * Serves a connection opened elsewhere (the listener, or a test's uTP accept), its handshake
   * done. `remote` is its address (default: its socket's). False, and the connection is closed,
   * when the swarm refuses it (maxPeers, banned, the same peer connected already) or we are closing.
   */
  addConnection (conn: PeerConnection, remote?: PeerAddress): boolean {
    if (this._closing !== undefined || conn.destroying) {
      conn.destroy()
      return false
    }
    return this.swarm.addIncoming(this._wrap(conn), remote ?? this._addressOf(conn))
  }

  /** Stops serving: unregisters from the listener, closes every connection, announces `stopped`. */
  close (): Promise<void> {
    this._closing ??= (async () => {
      const { listener, meta, announcer } = this._opts
      listener.unserve(meta.infoHashHex)
      listener.off('peer', this._onPeer)
      this.swarm.stop()
      // Bounded by the Announcer's stopTimeoutMs.
      if (announcer !== undefined && this._started) await announcer.stop()
    })()
    return this._closing
  }

  private _wrap (conn: PeerConnection): WirePeer {
    const peer = wirePeer(conn)
    this._connOf.set(peer, conn)
    return peer
  }

  private _addressOf (conn: PeerConnection): PeerAddress {
    const s = conn.socket as { remoteAddress?: unknown, remotePort?: unknown }
    if (typeof s.remoteAddress === 'string' && typeof s.remotePort === 'number') return { host: s.remoteAddress, port: s.remotePort }
    return { host: 'unaddressed', port: ++this._unaddressed }
  }

  private _extensions (): OurExtensions {
    // SEED_REQQ, and we hold far more (rtorrent ignores reqq): a lower maxQueued is advertised as is.
    const base = { reqq: Math.min(this._opts.uploader?.maxQueued ?? SEED_REQQ, SEED_REQQ), port: this._opts.listener.port }
    const m: Record<string, number> = {}
    const info = this._opts.infoBytes
    if (info !== undefined) m.ut_metadata = EXTENSION_IDS.ut_metadata
    // BEP 11, never for a private torrent (BEP 27); a bare geometry is no torrent of anyone's.
    if (isMetainfo(this._opts.meta) && !this._opts.meta.private) m.ut_pex = EXTENSION_IDS.ut_pex
    return { ...base, ...(Object.keys(m).length === 0 ? {} : { m }), ...(info === undefined ? {} : { metadataSize: info.length }) }
  }

  /** Until the Announcer stops (its peer stream ends), every address it finds goes to the pool. */
  private async _dialFrom (announcer: Announcer): Promise<void> {
    try {
      for await (const addr of announcer.peers) this.swarm.addPeer(addr, 'tracker')
    } catch {
      // The stream was destroyed under us: the session is closing.
    }
  }
}

function isMetainfo (g: SeedGeometry): g is Metainfo {
  return 'pieceHashes' in g && 'infoBytes' in g
}

/**
 * The swarm reads a Metainfo: the piece geometry, the info dict (BEP 9 answers; `infoBytes`
 * wins) and `private` (no PEX). A bare geometry (a test's synthetic torrent) gets no info dict
 * and no piece hashes, which a seed never checks.
 */
function swarmMeta (g: SeedGeometry, infoBytes: Uint8Array | undefined): Metainfo {
  if (isMetainfo(g)) return infoBytes === undefined || infoBytes === g.infoBytes ? g : { ...g, infoBytes }
  return {
    ...g,
    infoBytes: infoBytes ?? new Uint8Array(0),
    name: g.infoHashHex,
    pieceHashes: new Uint8Array(0),
    files: [],
    multiFile: false,
    announce: [],
    urlList: [],
    private: false,
    version: 'v1'
  }
}
