/**
 * `-o PATH`: the torrent (or the chosen files) written to disk at their offsets as pieces verify,
 * resumable. What is on disk already is hashed first and kept; only the rest is fetched, in
 * rarest-first order since no reader needs the bytes in order. Files carry a `.part` name until
 * every piece touching them verified (lib/storage). While it downloads it uploads: peers may dial
 * us on `port`, and every peer is served the pieces already on disk (disk-upload.ts).
 */
import type { EncryptionPolicy } from '../wire/connect.js'
import { RateLimiter } from '../util/rate-limiter.js'
import { EventEmitter } from 'node:events'
import type { Metainfo } from '../metainfo/types.js'
import { pieceLengthAt } from '../metainfo/geometry.js'
import { checkExisting, type CheckProgress } from '../storage/check-existing.js'
import { createDiskSink, type DiskSink } from '../storage/disk-sink.js'
import { FileStorage } from '../storage/file-storage.js'
import { resolveOutput, type OutputTarget } from '../storage/output-path.js'
import type { AnnounceInfo, TrackerFailure } from '../tracker/announcer.js'
import type { PeerAddress } from '../tracker/compact.js'
import { DownloadError, type StorageError } from '../util/errors.js'
import { generatePeerId } from '../wire/peer-id.js'
import { Swarm, type SwarmStats } from '../swarm/swarm.js'
import { dialer } from '../swarm/wire-peer.js'
import type { WebSeedEvent } from '../webseed/web-seeds.js'
import { openSessionUtp } from '../utp/session.js'
import type { UtpTransport } from '../utp/transport.js'
import { startPeerSources, type PeerSources, type SourceOptions } from './peer-sources.js'
import { openDiskUpload, type DiskUpload } from './disk-upload.js'
import { followSwarm } from './disk-budget.js'
import { holdHeapGrowth } from '../util/heap-growth.js'

export interface DiskDownloadOptions extends SourceOptions {
  // `port` (SourceOptions) is where we accept peers (default: any free port), and what trackers hear.
  /** Address to accept peers on (default: every interface). */
  readonly listenHost?: string
  /** Accept incoming peers (default true). */
  readonly listen?: boolean
  /** File indexes to download; default every file. */
  readonly files?: readonly number[]
  readonly maxPeers?: number
  readonly peerId?: Uint8Array
  readonly stallTimeoutMs?: number
  readonly signal?: AbortSignal
  /** Bytes per second, all peers together (undefined: no limit). */
  readonly maxDownloadRate?: number
  readonly maxUploadRate?: number
  /** MSE/PE: our dials follow it, and so does our listener (prefer and require accept both kinds; off takes plaintext only; require refuses plaintext). */
  readonly encryption?: EncryptionPolicy
  /**
   * Once complete, go on as a seed (lib/swarm/seed-mode.ts) until stop(): the same swarm, pool,
   * listener and choker (serve). Default false: complete stops the download.
   */
  readonly keepSeeding?: boolean
  /** Progress of the resume check, before any peer is contacted. */
  readonly onCheck?: (p: CheckProgress) => void
  /**
   * Bytes of pieces being fetched or hashed at once at most (default DEFAULT_DISK_ACTIVE_BYTES,
   * never fewer than MIN_ACTIVE_PIECES pieces); within it the budget follows the swarm
   * (disk-budget.ts). The sink's own bounds (disk-sink.ts) come on top.
   */
  readonly maxActiveBytes?: number
  /**
   * Write the page-aligned middle of each run with O_DIRECT, past the page cache (default true;
   * lib/storage/direct-writes.ts). Off: every write through the page cache.
   */
  readonly directWrites?: boolean
  /** Hold V8's heap growth until the download is done (default true; DownloadOptions says why). */
  readonly limitHeapGrowth?: boolean
}

/**
 * 64 MiB: the ceiling of the budget that follows the swarm (disk-budget.ts), which a swarm of
 * many slow peers reaches: 16 seeders at 1 MiB/s gave `-o` 9.3 MiB/s with 16 MiB, 14.4 with 32,
 * 15.7 with 64 (libtorrent 15.5); 50 at 256 KiB/s 7.4, 11.6 and 12.4. A fast swarm of few peers
 * stays near 16 MiB (4 libtorrent seeders on loopback: as fast as with 64, peak RssAnon 61 MiB
 * against 112). Pieces being hashed count in it, pieces the sink holds do not.
 */
export const DEFAULT_DISK_ACTIVE_BYTES = 64 * 1024 * 1024
/** Enough pieces for several peers at once whatever the piece size (64 MiB for 16 MiB pieces). */
export const MIN_ACTIVE_PIECES = 4

export interface DiskProgress extends SwarmStats {
  /** Bytes of wanted pieces in all, and how many were on disk already. */
  readonly total: number
  readonly resumed: number
  /** Piece bytes sent to peers. */
  readonly uploaded: number
}

interface DiskDownloadEvents {
  progress: [DiskProgress]
  'tracker-error': [TrackerFailure]
  /** A tracker answered (after a failure: it recovered), as the stdout DownloadStream's announcer says. */
  announce: [AnnounceInfo]
  'peer-banned': [PeerAddress, string]
  /** A web seed (BEP 19) became busy, failed, or was dropped, with the reason. */
  'web-seed': [WebSeedEvent]
  /** Reading a block back for a peer failed: that request was refused; the download goes on. */
  'read-error': [StorageError]
}

export class DiskDownload extends EventEmitter<DiskDownloadEvents> {
  readonly meta: Metainfo
  readonly swarm: Swarm
  readonly storage: FileStorage
  readonly sink: DiskSink
  /** Resolves when every wanted piece is on disk under its final name; rejects with the reason. */
  readonly done: Promise<void>
  /** Every wanted piece is on disk under its final name (`done` resolved). */
  private finished = false
  private readonly totalBytes: number
  private readonly resumedBytes: number
  private sources: PeerSources | undefined
  private upload: DiskUpload | undefined
  private utp: UtpTransport | undefined

  constructor (meta: Metainfo, swarm: Swarm, storage: FileStorage, sink: DiskSink, total: number, resumed: number) {
    super()
    this.meta = meta
    this.swarm = swarm
    this.storage = storage
    this.sink = sink
    this.totalBytes = total
    this.resumedBytes = resumed
    this.done = new Promise<void>((resolve, reject) => {
      sink.once('finish', () => { this.finished = true; resolve() })
      sink.once('error', reject)
      swarm.once('error', reject)
    })
    this.done.catch(() => {})
  }

  get progress (): DiskProgress {
    return { ...this.swarm.stats, total: this.totalBytes, resumed: this.resumedBytes, uploaded: this.upload?.side.uploaded ?? 0 }
  }

  /** The port peers may dial us on; undefined when not listening (nothing left to fetch, or `listen: false`). */
  get port (): number | undefined {
    return this.upload?.port
  }

  /** Stop: peers closed, trackers told `stopped`, nothing renamed that is not complete. */
  async stop (reason?: Error): Promise<void> {
    // Stopped before every piece was on disk: `done` must settle (with why), and the sink close
    // its files, whoever asked.
    const why = reason ?? (this.finished ? undefined : new DownloadError('download stopped'))
    this.swarm.stop(why)
    if (!this.sink.destroyed && why !== undefined) this.sink.destroy(why)
    await Promise.all([this.sources?.stop(), this.upload?.close()])
    // After the listener: its UDP port number is free again once this resolves (a seed that follows may bind it).
    await this.utp?.close()
  }

  /** @internal wired by downloadToDisk once the sources exist. */
  attachSources (sources: PeerSources, upload: DiskUpload | undefined, utp?: UtpTransport): void {
    this.sources = sources
    this.utp = utp
    this.upload = upload
  }
}

/**
 * @param out PATH as `-o PATH` reads it (output-path.ts): an existing directory holds the torrent
 *   (DIR/NAME, for a single file too), another path is a single file's own; or a target from
 *   resolveOutput. Where the data went: `storage.layout.payload`.
 */
export async function downloadToDisk (meta: Metainfo, out: string | OutputTarget, opts: DiskDownloadOptions = {}): Promise<DiskDownload> {
  if (typeof out === 'string') out = await resolveOutput(meta, out, 'download')
  const have = await checkExisting(meta, out, opts.files, opts.onCheck, { signal: opts.signal })
  if (opts.signal?.aborted === true) throw new DownloadError('download aborted')
  const storage = await FileStorage.open(meta, out, { selection: opts.files, have, ...(opts.directWrites === undefined ? {} : { directWrites: opts.directWrites }) })
  const wanted = storage.layout.wanted
  let total = 0
  let resumed = 0
  for (const i of wanted.indexes()) {
    const len = pieceLengthAt(meta, i)
    total += len
    if (have.get(i)) resumed += len
  }
  const sink = createDiskSink(storage)
  const maxActiveBytes = Math.max(opts.maxActiveBytes ?? DEFAULT_DISK_ACTIVE_BYTES, MIN_ACTIVE_PIECES * meta.pieceLength)
  const peerId = opts.peerId ?? generatePeerId()
  const seeds = opts.keepSeeding === true
  // Nothing to fetch and nothing to serve: no listener, no sources, the sink just closes.
  const nothingLeft = wanted.count() === have.count() && !seeds
  let upload: DiskUpload | undefined
  try {
    upload = nothingLeft ? undefined : await openDiskUpload(meta, storage, have, { peerId, port: opts.port, host: opts.listenHost, listen: opts.listen, maxUploadRate: opts.maxUploadRate, encryption: opts.encryption, keepSeeding: seeds })
  } catch (err) {
    await storage.close().catch(() => {})
    throw err
  }
  let utp: UtpTransport | undefined
  try {
    // uTP on the listener's port number (UDP), its inbound peers to the listener.
    utp = nothingLeft ? undefined : await openSessionUtp(opts, { ...(upload?.listener === undefined ? {} : { listener: upload.listener }), ...(opts.listenHost === undefined ? {} : { host: opts.listenHost }) })
  } catch (err) {
    await upload?.close()
    await storage.close().catch(() => {})
    throw err
  }
  const swarm = new Swarm({
    meta,
    peerId,
    sink,
    wanted,
    have,
    maxPeers: opts.maxPeers,
    maxActiveBytes,
    stallTimeoutMs: opts.stallTimeoutMs,
    ...(opts.maxDownloadRate === undefined ? {} : { downloadLimiter: new RateLimiter(opts.maxDownloadRate) }),
    connect: dialer({ meta, peerId, have: upload?.have, listenPort: upload?.port, ...(opts.encryption === undefined ? {} : { encryption: opts.encryption }), utp: Promise.resolve(utp), utpMode: opts.utp }),
    upload: upload?.side,
    // Every piece verified: seeds have nothing for us (the upload side serves each once on disk).
    ...(seeds ? { seed: { haveAll: () => swarm.picker.complete && wanted.count() === meta.pieceCount } } : {})
  })
  upload?.attach(swarm, sink)
  // Within maxActiveBytes, what is in flight follows the swarm's rate and peers (disk-budget.ts).
  const unfollow = followSwarm(swarm, meta.pieceLength, maxActiveBytes, MIN_ACTIVE_PIECES)
  const dl = new DiskDownload(meta, swarm, storage, sink, total, resumed)
  upload?.side.on('read-error', err => dl.emit('read-error', err))
  sink.on('drain', () => swarm.sinkDrained())
  swarm.on('peer-banned', (addr, reason) => dl.emit('peer-banned', addr, reason))
  swarm.on('error', () => {})
  const releaseHeap = holdHeapGrowth(opts.limitHeapGrowth !== false)
  const progress = setInterval(() => dl.emit('progress', dl.progress), 500)
  progress.unref()
  const onAbort = (): void => { void dl.stop(new DownloadError('download aborted')) }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  // A failed download stops accepting peers even if its owner never calls stop().
  dl.done.then(async () => { if (!seeds) await dl.stop() }, async () => { await upload?.close(); await utp?.close() }).finally(() => {
    clearInterval(progress)
    releaseHeap()
    unfollow()
    opts.signal?.removeEventListener('abort', onAbort)
  }).catch(() => {})
  // Nothing left to fetch (a finished download run again): the sink still renames and closes.
  dl.attachSources(nothingLeft
    ? { announcer: undefined, stop: async () => {} }
    : startPeerSources(swarm, meta, peerId, { ...opts, port: upload?.port ?? opts.port }, {
      fail: err => { void dl.stop(err) },
      trackerError: f => dl.emit('tracker-error', f),
      announce: info => dl.emit('announce', info),
      webSeed: e => dl.emit('web-seed', e),
      uploaded: () => upload?.side.uploaded ?? 0
    }), upload, utp)
  swarm.start()
  return dl
}
