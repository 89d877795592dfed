/**
 * A range reader: the bytes [start, end) of a torrent as a Readable, read back from the disk as
 * the engine writes verified pieces (stream-engine.ts). Backpressure: `_read` is called only when
 * the consumer wants more, and one chunk (at most CHUNK_BYTES) is read per call, so a reader holds
 * one chunk whatever the file's size; a paused reader holds its cursor, and the engine keeps
 * fetching its window and then the rest of the torrent. Its cursor moves as it reads (the pieces
 * at it are fetched first) and is removed when the reader is destroyed.
 */
import { Readable } from 'streamx'
import type { PieceCursor } from '../pieces/piece-picker.js'

/** What a reader needs of its engine. */
export interface RangeSource {
  readonly meta: { readonly pieceLength: number }
  pieceLength (index: number): number
  isWritten (index: number): boolean
  addCursor (piece: number): PieceCursor
  /** `cb` once piece `index` is on disk, or with the reason it never will be; returns a cancel. */
  whenWritten (index: number, cb: (err?: Error) => void): () => void
  read (index: number, begin: number, length: number): Promise<Uint8Array>
}

/** One disk read per `_read`: large enough for few syscalls, small next to a piece window. */
const CHUNK_BYTES = 256 * 1024

export class RangeReader extends Readable {
  readonly start: number
  readonly end: number
  private readonly source: RangeSource
  private position: number
  private cursor: PieceCursor | undefined
  private cancelWait: (() => void) | undefined
  /** The `_read` callback while it waits for a piece: streamx destroys only once it is called. */
  private pending: ((err: Error | null) => void) | undefined

  constructor (source: RangeSource, start: number, end: number) {
    super({ highWaterMark: CHUNK_BYTES })
    this.source = source
    this.start = start
    this.end = end
    this.position = start
  }

  /** Bytes handed out so far. */
  get delivered (): number { return this.position - this.start }

  override _open (cb: (err: Error | null) => void): void {
    if (this.start < this.end) this.cursor = this.source.addCursor(this.pieceAt(this.position))
    cb(null)
  }

  override _read (cb: (err: Error | null) => void): void {
    if (this.position >= this.end) {
      this.push(null)
      cb(null)
      return
    }
    const index = this.pieceAt(this.position)
    const begin = this.position - index * this.source.meta.pieceLength
    const length = Math.min(this.end - this.position, this.source.pieceLength(index) - begin, CHUNK_BYTES)
    this.cursor?.move(index)
    this.pending = cb
    this.cancelWait = this.source.whenWritten(index, err => {
      this.cancelWait = undefined
      this.pending = undefined
      if (err !== undefined) { cb(err); return }
      this.source.read(index, begin, length).then(data => {
        this.position += data.byteLength
        // Past its last piece the reader wants nothing more: its cursor goes at once.
        if (this.position >= this.end) this.dropCursor()
        this.push(data)
        cb(null)
      }, (e: Error) => cb(e))
    })
  }

  /**
   * Destroyed while waiting for a piece that may never come (the client hung up, the swarm has no
   * seed of it): stop waiting now, or streamx would wait for that `_read` before `_destroy`.
   */
  override _predestroy (): void {
    this.cancelWait?.()
    this.cancelWait = undefined
    const cb = this.pending
    this.pending = undefined
    cb?.(null)
  }

  override _destroy (cb: (err: Error | null) => void): void {
    this.dropCursor()
    cb(null)
  }

  private dropCursor (): void {
    this.cursor?.remove()
    this.cursor = undefined
  }

  private pieceAt (offset: number): number {
    return Math.floor(offset / this.source.meta.pieceLength)
  }
}
