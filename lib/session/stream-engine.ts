/**
 * One engine, several readers: `openStream(meta)` runs the disk download (download-to-disk.ts:
 * rarest-first into a cache directory, uploading while it runs) and hands out range readers
 * (`createReadStream(file, { start, end })`, range-reader.ts) that read verified pieces back from
 * the disk. Each reader holds a cursor in the piece picker: the pieces at it are fetched first,
 * the most recent seek first, and rarest-first fills the rest of the cache while nobody reads.
 *
 * Where the bytes live: verified pieces are on disk, never in memory, so a re-read or a seek back
 * never fetches twice, and memory is the engine's active pieces plus one chunk per reader.
 * `dir` given: the torrent goes into that directory (DIR/NAME, as `-o DIR`) and stays, and a
 * later run resumes from it. Without it, a cache directory of this engine's own,
 * `os.tmpdir()/bt-stream-cache/<infohash>-XXXXXX` (two engines on one torrent never share one, so
 * neither removes the other's), holds at most the torrent's size (files are written sparse, piece
 * by piece) and is removed by close(), unless `keepCache`.
 *
 * Uploading: while it downloads, peers are served the verified pieces on disk (the disk mode's
 * upload side); once complete the same swarm goes on as a seed (`keepSeeding`, on by default;
 * lib/swarm/seed-mode.ts) from the finished files, until close().
 */
import { EventEmitter } from 'node:events'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pieceLengthAt } from '../metainfo/geometry.js'
import type { Metainfo } from '../metainfo/types.js'
import { FileStorage } from '../storage/file-storage.js'
import type { PieceCursor } from '../pieces/piece-picker.js'
import { DownloadError, StorageError, UsageError } from '../util/errors.js'
import { BitField } from '../wire/bitfield.js'
import { downloadToDisk, type DiskDownload, type DiskDownloadOptions, type DiskProgress } from './download-to-disk.js'
import { RangeReader, type RangeSource } from './range-reader.js'

export interface StreamEngineOptions extends Omit<DiskDownloadOptions, 'files'> {
  /**
   * The directory the torrent is written into (created if missing; DIR/NAME as with `-o DIR`),
   * resumable; default a temporary cache directory.
   */
  readonly dir?: string
  /** Keep the temporary cache directory on close (ignored with `dir`). */
  readonly keepCache?: boolean
  /** Bytes ahead of each reader fetched before the rest (its window; default 8 MiB). */
  readonly readerWindowBytes?: number
}

export interface ReadStreamOptions {
  /** First byte of the file, inclusive (default 0). */
  readonly start?: number
  /** Last byte of the file, exclusive (default the file's length). */
  readonly end?: number
}

interface StreamEngineEvents {
  /** A piece is on disk and readable. */
  written: [index: number]
  /** The download failed (stall, disk): pieces on disk stay readable, the rest fail. */
  error: [err: Error]
  progress: [DiskProgress]
}

/**
 * Each reader's window: enough to keep a few fast peers busy on what it reads next, a few
 * seconds of a high-bitrate video.
 */
const DEFAULT_READER_WINDOW_BYTES = 8 * 1024 * 1024
/** On a seek, each peer keeps this many of its queued requests: they are on the wire already. */
const PREEMPT_KEEP_BLOCKS = 4
/** A read that failed while the storage changed hands (a file renamed on completion) is retried. */
const READ_RETRIES = 3
const READ_RETRY_MS = 50

export class StreamEngine extends EventEmitter<StreamEngineEvents> implements RangeSource {
  readonly meta: Metainfo
  readonly download: DiskDownload
  /** Where the payload is on disk (a file, or the torrent's NAME directory). */
  readonly payload: string
  /** The cache directory removed on close, or undefined when the data stays (`dir`). */
  readonly cacheDir: string | undefined
  readonly windowPieces: number
  /** Pieces on disk: readable. */
  private readonly written: BitField
  private readonly waiters = new Map<number, Set<(err?: Error) => void>>()
  private readonly readers = new Set<RangeReader>()
  /** The storage reads go to: the download's while it runs, a read-only one after it ended. */
  private storage: Promise<FileStorage>
  private failure: Error | undefined
  private closing: Promise<void> | undefined

  constructor (meta: Metainfo, dl: DiskDownload, cacheDir: string | undefined, windowBytes: number) {
    super()
    this.meta = meta
    this.download = dl
    this.payload = dl.storage.layout.payload
    this.cacheDir = cacheDir
    this.windowPieces = Math.max(2, Math.ceil(windowBytes / meta.pieceLength))
    this.written = new BitField(meta.pieceCount)
    // What the resume check found is on disk already.
    for (let i = 0; i < meta.pieceCount; i++) if (dl.swarm.picker.isDone(i)) this.written.set(i)
    this.storage = Promise.resolve(dl.storage)
    dl.sink.on('written', index => this.onWritten(index))
    dl.on('progress', p => this.emit('progress', p))
    // The download's storage closes when it ends either way: reads go on from a read-only one.
    const reopen = (): void => {
      if (this.closing !== undefined) return
      const layout = dl.storage.layout
      this.storage = FileStorage.open(meta, { root: layout.root, payload: layout.payload }, { have: this.written, links: 'follow-reads' })
      this.storage.catch(() => {})
    }
    dl.done.then(reopen, (err: Error) => {
      reopen()
      this.fail(err)
    })
  }

  /** Readers open now. */
  get readerCount (): number { return this.readers.size }
  get progress (): DiskProgress { return this.download.progress }
  get complete (): boolean { return this.written.count() === this.download.storage.layout.wanted.count() }

  /**
   * The bytes [start, end) of file `fileIndex` (or of the torrent, when `fileIndex` is undefined
   * and it is a single file), as a Readable with backpressure.
   */
  createReadStream (fileIndex: number | undefined, opts: ReadStreamOptions = {}): RangeReader {
    if (this.closing !== undefined) throw new DownloadError('the stream engine is closed')
    const { offset, length } = this.fileSpan(fileIndex)
    const start = opts.start ?? 0
    const end = opts.end ?? length
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > length || start > end) {
      throw new RangeError(`range ${start}..${end} is outside the file's 0..${length}`)
    }
    const reader = new RangeReader(this, offset + start, offset + end)
    this.readers.add(reader)
    reader.once('close', () => this.readers.delete(reader))
    return reader
  }

  /** Stop the download, end every reader, and remove the cache directory (unless kept). */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      for (const r of this.readers) r.destroy()
      this.failWaiters(new DownloadError('the stream engine closed'))
      // With a reason the sink is destroyed, which closes the download's storage; `done` settles.
      await this.download.stop(new DownloadError('the stream engine closed'))
      await this.download.done.catch(() => {})
      await (await this.storage.catch(() => undefined))?.close().catch(() => {})
      if (this.cacheDir !== undefined) await rm(this.cacheDir, { recursive: true, force: true })
    })()
    await this.closing
  }

  // --- RangeSource: what a reader needs ---

  pieceLength (index: number): number { return pieceLengthAt(this.meta, index) }

  isWritten (index: number): boolean { return this.written.has(index) }

  addCursor (piece: number): PieceCursor {
    const cursor = this.download.swarm.picker.addCursor(piece, this.windowPieces)
    // A seek to a piece not yet on disk: the peers' queues hold seconds of requests for pieces
    // nobody waits for; cancel them so this reader's blocks come next.
    if (!this.written.has(cursor.piece)) this.preempt()
    return cursor
  }

  /** Calls `cb` once piece `index` is on disk (or with the reason it never will be); returns a cancel. */
  whenWritten (index: number, cb: (err?: Error) => void): () => void {
    if (this.written.has(index)) { cb(); return () => {} }
    if (this.failure !== undefined) { cb(this.failure); return () => {} }
    let set = this.waiters.get(index)
    if (set === undefined) this.waiters.set(index, set = new Set())
    set.add(cb)
    return () => {
      set.delete(cb)
      if (set.size === 0 && this.waiters.get(index) === set) this.waiters.delete(index)
    }
  }

  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await (await this.storage).read(index, begin, length)
      } catch (err) {
        if (attempt >= READ_RETRIES || this.closing !== undefined) throw err
        await new Promise(resolve => setTimeout(resolve, READ_RETRY_MS))
      }
    }
  }

  // --- internals ---

  private fileSpan (fileIndex: number | undefined): { offset: number, length: number } {
    if (fileIndex === undefined) {
      if (this.meta.multiFile) throw new UsageError(`"${this.meta.name}" holds ${this.meta.files.length} files; choose one`)
      return { offset: 0, length: this.meta.length }
    }
    const f = this.meta.files[fileIndex]
    if (f === undefined || f.padding) throw new RangeError(`no file ${fileIndex} in "${this.meta.name}"`)
    return { offset: f.offset, length: f.length }
  }

  private preempt (): void {
    const tracker = this.download.swarm.tracker
    for (const peer of [...tracker.peers()]) {
      for (const r of tracker.preempt(peer, PREEMPT_KEEP_BLOCKS)) peer.link.cancel(r.index, r.begin, r.length)
    }
  }

  private onWritten (index: number): void {
    this.written.set(index)
    const set = this.waiters.get(index)
    this.waiters.delete(index)
    if (set !== undefined) for (const cb of set) cb()
    this.emit('written', index)
  }

  private fail (err: Error): void {
    if (this.failure !== undefined || this.closing !== undefined) return
    this.failure = err
    this.failWaiters(err)
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  private failWaiters (err: Error): void {
    const all = [...this.waiters.values()]
    this.waiters.clear()
    for (const set of all) for (const cb of set) cb(err)
  }
}

/**
 * Start the engine: the resume check of what `dir` (or the cache) holds, then the download.
 * Resolves once peers are being contacted; readers may be created at once.
 */
export async function openStream (meta: Metainfo, opts: StreamEngineOptions = {}): Promise<StreamEngine> {
  let cacheDir: string | undefined
  let out: string
  if (opts.dir !== undefined) {
    out = opts.dir
    try {
      await mkdir(out, { recursive: true })
    } catch (err) {
      throw new StorageError(`cannot use ${JSON.stringify(out)} as the directory to download into: ${(err as Error).message}`)
    }
  } else {
    const parent = join(tmpdir(), 'bt-stream-cache')
    await mkdir(parent, { recursive: true })
    out = await mkdtemp(join(parent, `${meta.infoHashHex}-`))
    if (opts.keepCache !== true) cacheDir = out
  }
  let dl: DiskDownload
  try {
    dl = await downloadToDisk(meta, out, { keepSeeding: true, ...opts })
  } catch (err) {
    if (cacheDir !== undefined) await rm(cacheDir, { recursive: true, force: true })
    throw err
  }
  return new StreamEngine(meta, dl, cacheDir, opts.readerWindowBytes ?? DEFAULT_READER_WINDOW_BYTES)
}
