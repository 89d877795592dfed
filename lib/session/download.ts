/**
 * `download(meta)`: a torrent (or one file of it) as a Readable of its bytes in order, fetched from
 * the swarm while it is read. This wires the parts together: trackers find peers, the swarm fetches
 * and verifies pieces, the merging Writable puts them in order, and the stream hands them out.
 * Closing the stream early (`| head`) stops the swarm and tells the trackers `stopped`.
 */
import type { EncryptionPolicy } from '../wire/connect.js'
import { RateLimiter } from '../util/rate-limiter.js'
import { Readable, type ReadableEvents, type ReadableOptions } from 'streamx'
import type { Metainfo } from '../metainfo/types.js'
import { MergingWritable } from '../output/merging-writable.js'
import { isLendingSink, lendingSink } from '../output/lending-sink.js'
import type { Announcer } from '../tracker/announcer.js'
import type { TrackerFailure } from '../tracker/announcer.js'
import type { PeerAddress } from '../tracker/compact.js'
import { DownloadError } from '../util/errors.js'
import type { WebSeedEvent } from '../webseed/web-seeds.js'
import { startPeerSources, type SourceOptions } from './peer-sources.js'
import { generatePeerId } from '../wire/peer-id.js'
import { Swarm, type SwarmStats } from '../swarm/swarm.js'
import { dialer } from '../swarm/wire-peer.js'
import { selectPiece, selectRange, type Selection } from './selection.js'
import { piecesForRange } from '../metainfo/geometry.js'
import { openSessionUtp } from '../utp/session.js'
import { paddedSink } from '../v2/padded-sink.js'
import { holdHeapGrowth } from '../util/heap-growth.js'

export interface DownloadOptions extends SourceOptions {
  /** One file of a multi-file torrent: its index or path. */
  readonly file?: number | string
  /** First byte of the file (of the torrent, without `file`) to stream, inclusive; default 0. */
  readonly start?: number
  /** Byte of the file to stop at, exclusive; default its length. */
  readonly end?: number
  /** Just this piece (overrides `file`, `start` and `end`). */
  readonly piece?: number
  /**
   * A byte range [start, end) of the torrent's byte stream, across file boundaries (overrides
   * `file` and `piece`). Padding files inside it are in the stream (TarOutput drops them).
   */
  readonly range?: { readonly start: number, readonly end: number }
  /** Bytes past the output cursor that may be held in memory (default 16 MiB). */
  readonly windowBytes?: number
  readonly maxPeers?: number
  readonly peerId?: Uint8Array
  /** Fail when nothing arrives for this long with no peer connected (default 60 s). */
  readonly stallTimeoutMs?: number
  readonly signal?: AbortSignal
  /** Bytes per second, all peers together (undefined: no limit). */
  readonly maxDownloadRate?: number
  /** MSE/PE for our dials: 'prefer' (default), 'require', 'off' (lib/crypto/README.md). */
  readonly encryption?: EncryptionPolicy
  /**
   * Hand out views of the engine's reused piece memory instead of copies: the reader must call
   * `giveBack(n)` once it no longer holds the next n bytes it read (lib/output/lending-writer.ts
   * does that for a byte sink). Off by default: a reader that keeps chunks would see them change.
   * Without it, a stream piped (`pipe`, `stream.pipeline`) straight into a file, socket or stdout
   * before its first byte lends to that sink by itself, and gives back as the sink's writes
   * complete (lib/output/lending-sink.ts); every other reader gets copies.
   */
  readonly lendBuffers?: boolean
  /**
   * Most bytes in one chunk the stream reads out (default 64 KiB, what a pipe takes best; a piece
   * is cut into views, or copies, of this size). A sink that takes any size at the same cost per
   * call (a file) does better with whole pieces: the CLI gives 1 MiB when stdout is a file.
   */
  readonly chunkBytes?: number
  /**
   * While it runs, hold V8's heap growth (default true): a download's objects die young, yet over
   * a GiB V8 grows its young generation to 32 MiB and lets the old one reach ~40 MB between full
   * GCs, a third of the download's memory (held: young not doubled, old grown by half and marked
   * halfway there). A setting of the whole process, put back after the last download
   * (lib/util/heap-growth.ts); false leaves the process's GC alone. Node flags that size the heap
   * always win.
   */
  readonly limitHeapGrowth?: boolean
}

export interface DownloadProgress extends SwarmStats {
  /** Bytes of the selection already handed to the reader's side. */
  readonly total: number
}

export interface DownloadStreamEvents extends ReadableEvents {
  data: [data: Uint8Array]
  progress: [DownloadProgress]
  'tracker-error': [TrackerFailure]
  'peer-banned': [PeerAddress, string]
  /** A web seed (BEP 19) became busy, failed, or was dropped, with the reason. */
  'web-seed': [WebSeedEvent]
}

/** Default bytes in memory ahead of the reader: enough for a fast swarm, small next to RSS. */
export const DEFAULT_WINDOW_BYTES = 16 * 1024 * 1024
const PROGRESS_MS = 500

/**
 * What comes out is Uint8Array (views of verified pieces). streamx declares every Readable's data
 * as `unknown`; this narrows it, so `for await (const chunk of download(meta))` is typed.
 */
export interface DownloadStream {
  [Symbol.asyncIterator] (): AsyncIterator<Uint8Array>
  read (): Uint8Array | null
}

/** The download's bytes, in order, with its swarm and progress attached. */
export class DownloadStream extends Readable<DownloadStreamEvents> {
  readonly meta: Metainfo
  readonly selection: Selection
  /** Set once the constructor has wired everything. */
  swarm!: Swarm
  merger!: MergingWritable
  announcer: Announcer | undefined
  /** Resolves when everything is shut down after the stream closed (trackers told `stopped`). */
  stopped: Promise<void> = Promise.resolve()
  /** Piped into a sink that borrows the piece memory (`pipe`). */
  private sinkLends = false

  constructor (hooks: ReadableOptions, meta: Metainfo, selection: Selection) {
    super(hooks)
    this.meta = meta
    this.selection = selection
  }

  /** With `lendBuffers`: the reader no longer holds the next `bytes` bytes it read. */
  giveBack (bytes: number): void { this.merger.giveBack(bytes) }

  /**
   * Piped straight into a file, socket or stdout (lib/output/lending-sink.ts) before the first
   * byte left: that sink borrows the piece memory (views, given back as its writes complete)
   * instead of getting a copy of every byte. Any other destination gets copies, as before.
   */
  override pipe<S> (dest: S, cb?: (err: Error | null) => void): S {
    if (!this.merger.lends && isLendingSink(dest) && this.merger.lendFromStart()) {
      this.sinkLends = true
      super.pipe(lendingSink(dest as S & object, n => { this.merger.giveBack(n) }), cb)
      return dest
    }
    return super.pipe(dest, cb)
  }

  /**
   * A 'data' listener beside a borrowing sink may keep what it is given: it gets a copy of a lent
   * view, never the view (whose memory holds another piece's bytes once the sink is done).
   */
  override emit<E extends keyof DownloadStreamEvents> (name: E, ...args: DownloadStreamEvents[E]): boolean {
    if (name === 'data' && this.lentBySink(args[0] as Uint8Array)) return super.emit('data', Buffer.from(args[0] as Uint8Array))
    return super.emit(name, ...args)
  }

  /** So does a `read()` (and `for await`, which reads) beside a borrowing sink. */
  override read (): Uint8Array | null {
    const chunk = super.read() as Uint8Array | null
    return chunk !== null && this.lentBySink(chunk) ? Buffer.from(chunk) : chunk
  }

  /** A view lent to a sink this stream was piped into (not to a `lendBuffers` reader). */
  private lentBySink (chunk: Uint8Array): boolean {
    return this.sinkLends && this.merger.isLent(chunk)
  }

  get progress (): DownloadProgress {
    return { ...this.swarm.stats, total: this.selection.end - this.selection.start }
  }
}

/** A byte range of the whole torrent, checked: a library caller's mistake is a RangeError. */
function selectBytes (meta: Metainfo, start: number, end: number): Selection {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > meta.length) {
    throw new RangeError(`range [${start}, ${end}) is not inside the torrent's ${meta.length} bytes`)
  }
  const span = piecesForRange(meta, start, end)
  return { start, end, firstPiece: span?.first, lastPiece: span?.last, fileIndex: undefined }
}

export function download (meta: Metainfo, opts: DownloadOptions = {}): DownloadStream {
  const selection = opts.range !== undefined
    ? selectBytes(meta, opts.range.start, opts.range.end)
    : opts.piece === undefined ? selectRange(meta, opts.file, { start: opts.start, end: opts.end }) : selectPiece(meta, opts.piece)
  if (opts.chunkBytes !== undefined && !(Number.isSafeInteger(opts.chunkBytes) && opts.chunkBytes > 0)) throw new RangeError(`chunkBytes must be a positive whole number of bytes, got ${opts.chunkBytes}`)
  const peerId = opts.peerId ?? generatePeerId()
  const windowPieces = Math.max(2, Math.ceil((opts.windowBytes ?? DEFAULT_WINDOW_BYTES) / meta.pieceLength))
  let stream!: DownloadStream
  const merger = new MergingWritable({
    pieceLength: meta.pieceLength,
    start: selection.start,
    end: selection.end,
    maxHeldBytes: windowPieces * meta.pieceLength,
    lend: opts.lendBuffers === true,
    ...(opts.chunkBytes === undefined ? {} : { copyChunk: opts.chunkBytes }),
    createOutput: hooks => (stream = new DownloadStream(hooks, meta, selection))
  })
  stream.merger = merger
  // The merger fails only with the swarm or the stream, and the stream carries that error.
  merger.on('error', () => {})
  // uTP (BEP 29): dial-only here (stdout mode accepts no peers). Dials wait for it to bind.
  const utp = openSessionUtp(opts).catch((err: Error) => { stream.destroy(err); return undefined })
  const swarm = new Swarm({
    meta,
    peerId,
    // BEP 52: a file's short last piece, padded back to the byte stream's layout.
    sink: paddedSink(meta, merger),
    firstPiece: selection.firstPiece,
    lastPiece: selection.lastPiece,
    windowPieces,
    maxPeers: opts.maxPeers,
    stallTimeoutMs: opts.stallTimeoutMs,
    ...(opts.maxDownloadRate === undefined ? {} : { downloadLimiter: new RateLimiter(opts.maxDownloadRate) }),
    connect: dialer({ meta, peerId, ...(opts.encryption === undefined ? {} : { encryption: opts.encryption }), utp, utpMode: opts.utp })
  })
  stream.swarm = swarm
  merger.on('advance', next => swarm.sinkAdvanced(next))
  merger.on('drain', () => swarm.sinkDrained())
  swarm.on('peer-banned', (addr, reason) => stream.emit('peer-banned', addr, reason))
  swarm.on('error', err => { stream.destroy(err) })
  if (opts.signal?.aborted === true) {
    // Aborted before it began: no announce, no dial, only the error.
    swarm.stop()
    merger.destroy()
    stream.destroy(new DownloadError('download aborted'))
    stream.stopped = utp.then(t => t?.close())
    return stream
  }
  const sources = startPeerSources(swarm, meta, peerId, opts, {
    fail: err => stream.destroy(err),
    trackerError: f => stream.emit('tracker-error', f),
    webSeed: e => stream.emit('web-seed', e)
  })
  stream.announcer = sources.announcer

  const releaseHeap = holdHeapGrowth(opts.limitHeapGrowth !== false)
  const progress = setInterval(() => stream.emit('progress', stream.progress), PROGRESS_MS)
  progress.unref()
  const onAbort = (): void => { stream.destroy(new DownloadError('download aborted')) }
  opts.signal?.addEventListener('abort', onAbort, { once: true })

  // However the stream ends (read to the end, closed by its reader, or failed), stop everything.
  stream.once('close', () => {
    clearInterval(progress)
    releaseHeap()
    opts.signal?.removeEventListener('abort', onAbort)
    swarm.stop()
    if (!merger.destroyed) merger.destroy()
    stream.stopped = Promise.all([sources.stop(), utp.then(t => t?.close())]).then(() => {})
  })
  swarm.start()
  return stream
}
