/**
 * `--tar`: a multi-file torrent as one tar stream, in torrent order, while it downloads. The
 * writable side takes the torrent's byte stream (a DownloadStream's bytes, from `start`); the
 * readable side gives a tar archive with one entry per file, its exact size declared up front,
 * directories before the files in them. BEP 47 padding files occupy the byte stream: their bytes
 * are read and dropped, never an entry. Empty files are entries of size 0.
 *
 * Backpressure: nothing here buffers beyond the streams' own high-water marks. A write of torrent
 * bytes completes only once the tar packer took them, the packer stops taking them when our
 * readable side is full, and our readable side fills only as fast as its reader reads: a slow
 * `| tar x` holds the download's window, and the swarm stops requesting (merging-writable.ts).
 */
import { Duplex, pipeline, Writable, type DuplexEvents } from 'streamx'
import { pack as tarPack, type Pack } from 'tar-stream'
import type { Metainfo, TorrentFile } from '../metainfo/types.js'
import type { DownloadStream } from '../session/download.js'

/** Regular files in the archive: readable by all, as `tar x` gives a file it did not make itself. */
const FILE_MODE = 0o644
/** Directories need the search bit, or `tar x` could not create the files inside them. */
const DIR_MODE = 0o755

export interface TarOptions {
  /**
   * Indexes into `meta.files` to write as entries, each lying inside [start, end); default:
   * every file inside it. The bytes of the others (and of padding files) are read and dropped.
   */
  readonly files?: readonly number[]
  /** The torrent byte offset of the first byte written to us (default 0). */
  readonly start?: number
  /** One past the last byte (default: the torrent's length). */
  readonly end?: number
  /** Every entry's mtime (default: the torrent's creation date, else now). */
  readonly mtime?: Date
}

export interface TarOutputEvents extends DuplexEvents {
  data: [data: Uint8Array]
}

/**
 * The byte range that covers `files` (indexes into `meta.files`; all of them when omitted): what
 * to download for a tar of them. Files between two chosen ones are inside the range, so they are
 * fetched too; only the chosen ones become entries.
 */
export function tarRange (meta: Metainfo, files?: readonly number[]): { start: number, end: number } {
  if (files === undefined) return { start: 0, end: meta.length }
  const chosen = files.map(i => fileAt(meta, i))
  if (chosen.length === 0) return { start: 0, end: 0 }
  return {
    start: Math.min(...chosen.map(f => f.offset)),
    end: Math.max(...chosen.map(f => f.offset + f.length))
  }
}

/** The archive comes out as Uint8Array; streamx declares a Readable's data as `unknown`. */
export interface TarOutput {
  [Symbol.asyncIterator] (): AsyncIterator<Uint8Array>
  read (): Uint8Array | null
}

/** Torrent bytes in, a tar archive of the torrent's files out. */
export class TarOutput extends Duplex<TarOutputEvents> {
  /** The torrent byte range [rangeStart, rangeEnd) this archive is made from. */
  readonly rangeStart: number
  readonly rangeEnd: number
  private readonly pack: Pack = tarPack()
  private readonly plan: readonly TorrentFile[]
  private readonly mtime: Date
  private readonly dirs = new Set<string>()
  /** Index in `plan` of the file being written, or of the next one. */
  private next = 0
  private entry: Writable | null = null
  /** Bytes the open entry still expects. */
  private left = 0
  /** Torrent offset of the next byte written to us. */
  private pos: number

  constructor (meta: Metainfo, opts: TarOptions = {}) {
    super()
    this.rangeStart = opts.start ?? 0
    this.rangeEnd = opts.end ?? meta.length
    if (!Number.isSafeInteger(this.rangeStart) || !Number.isSafeInteger(this.rangeEnd) || this.rangeStart < 0 || this.rangeEnd < this.rangeStart || this.rangeEnd > meta.length) {
      throw new RangeError(`tar range [${this.rangeStart}, ${this.rangeEnd}) is not inside the torrent's ${meta.length} bytes`)
    }
    this.pos = this.rangeStart
    const inside = (f: TorrentFile): boolean => f.offset >= this.rangeStart && f.offset + f.length <= this.rangeEnd
    if (opts.files !== undefined) {
      for (const i of opts.files) {
        if (!inside(fileAt(meta, i))) throw new RangeError(`file ${i} is not inside the tar range [${this.rangeStart}, ${this.rangeEnd})`)
      }
    }
    const wanted = opts.files === undefined ? undefined : new Set(opts.files)
    this.plan = meta.files.filter((f, i) => !f.padding && inside(f) && (wanted === undefined || wanted.has(i)))
    this.mtime = opts.mtime ?? (meta.creationDate !== undefined && meta.creationDate > 0 ? new Date(meta.creationDate * 1000) : new Date())

    // The packer's output is ours: pause it while our reader is full (see _read).
    this.pack.on('data', (d: unknown) => { if (!this.push(d)) this.pack.pause() })
    this.pack.on('end', () => { this.push(null) })
    this.pack.on('error', (err: Error) => { this.destroy(err) })
  }

  override _read (cb: (err: Error | null) => void): void {
    this.pack.resume()
    cb(null)
  }

  override _write (data: Uint8Array, cb: (err: Error | null) => void): void {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    this.feed(buf).then(() => cb(null), (err: Error) => cb(err))
  }

  override _final (cb: (err: Error | null) => void): void {
    this.finish().then(() => cb(null), (err: Error) => cb(err))
  }

  override _destroy (cb: (err: Error | null) => void): void {
    if (!this.pack.destroying) this.pack.destroy()
    cb(null)
  }

  /** The last byte came: the empty files at the end get their entries, then the archive's end. */
  private async finish (): Promise<void> {
    await this.feed(Buffer.alloc(0))
    if (this.pos !== this.rangeEnd || this.next < this.plan.length) {
      const file = this.plan[this.next]
      throw new Error(`the torrent's bytes ended at ${this.pos} of ${this.rangeEnd}${file === undefined ? '' : `, inside ${file.path}`}`)
    }
    this.pack.finalize()
  }

  /**
   * Routes `data` (the bytes at `pos`) into entries: opens the files that start here (the empty
   * ones close at once), drops what lies outside every planned file, and waits whenever an
   * entry is full.
   */
  private async feed (data: Buffer): Promise<void> {
    if (data.byteLength > this.rangeEnd - this.pos) throw new RangeError(`more torrent bytes than the tar range [${this.rangeStart}, ${this.rangeEnd}) holds`)
    let at = 0
    for (;;) {
      let entry = this.entry
      if (entry === null) {
        const file = this.plan[this.next]
        if (file === undefined) { this.pos += data.byteLength - at; return }
        if (file.offset > this.pos) {
          const drop = Math.min(data.byteLength - at, file.offset - this.pos)
          at += drop
          this.pos += drop
          if (this.pos < file.offset) return
        }
        entry = this.open(file)
      }
      if (this.left === 0) {
        entry.end(null)
        this.entry = null
        this.next++
        continue
      }
      if (at === data.byteLength) return
      const n = Math.min(this.left, data.byteLength - at)
      const more = entry.write(data.subarray(at, at + n))
      at += n
      this.pos += n
      this.left -= n
      if (!more && !(await Writable.drained(entry))) throw new Error('tar entry closed')
    }
  }

  private open (file: TorrentFile): Writable {
    const parts = file.path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/')
      if (this.dirs.has(dir)) continue
      this.dirs.add(dir)
      this.pack.entry({ name: `${dir}/`, type: 'directory', mode: DIR_MODE, mtime: this.mtime }).end(null)
    }
    this.entry = this.pack.entry({ name: file.path, type: 'file', size: file.length, mode: FILE_MODE, mtime: this.mtime })
    this.left = file.length
    return this.entry
  }
}

/**
 * A download as a tar archive: `stream`'s bytes (its selection, e.g. `download(meta, { range:
 * tarRange(meta, files) })`) piped into a TarOutput, returned as the Readable to consume. An error
 * on either side destroys both; closing the archive early stops the download.
 */
export function tarOf (stream: DownloadStream, opts: Pick<TarOptions, 'files' | 'mtime'> = {}): TarOutput {
  const tar = new TarOutput(stream.meta, { ...opts, start: stream.selection.start, end: stream.selection.end })
  // streamx's pipeline destroys every stream in it when one fails or closes early.
  pipeline(stream, tar, () => {})
  return tar
}

function fileAt (meta: Metainfo, i: number): TorrentFile {
  const f = meta.files[i]
  if (f === undefined) throw new RangeError(`no file ${i}: the torrent holds ${meta.files.length}`)
  return f
}
