/**
 * The merging Writable: verified pieces go in, in any order; `output` reads the chosen byte range
 * of the torrent, in order. Pieces ahead of the cursor wait here, and the engine only starts pieces
 * inside a window past the cursor, so what waits is bounded by that window: memory does not grow
 * with the torrent. A slow reader of `output` holds the cursor, the window stops sliding, and no
 * new requests go out: backpressure reaches the peers without dropping a byte.
 *
 * BEP 52 block streaming: `writePrefix` takes the verified first bytes of the cursor's piece
 * before the piece is whole (each 16 KiB block checked alone against the merkle tree). They go
 * to `output` as copies at once and advance `cursorOffset`, the same count a reused piece's
 * copies advance: when the whole piece arrives, only the bytes past it are emitted, never twice.
 * Nothing is held for a prefix, so the window's bound is unchanged.
 */
import { Readable, Writable, type ReadableOptions, type WritableEvents } from 'streamx'
import { copyInto } from '../util/copy-bytes.js'
import { BtStreamError } from '../util/errors.js'
import { STDOUT_CHUNK } from './chunker.js'

/** A piece whose SHA-1 matched. `data` is the whole piece. */
export interface VerifiedPiece {
  readonly index: number
  readonly data: Uint8Array
  /**
   * The consumer calls this once it will never read `data` again: the engine may then put
   * another piece's bytes in that memory. A consumer that keeps the bytes never calls it.
   */
  readonly release?: () => void
}

/** A streamx Readable of bytes: streamx types its data as `unknown`, this says Uint8Array. */
export interface ByteReadable extends Readable {
  [Symbol.asyncIterator] (): AsyncIterator<Uint8Array>
  read (): Uint8Array | null
}

export interface MergingOptions {
  readonly pieceLength: number
  /** The byte range of the torrent's stream to produce: [start, end). */
  readonly start: number
  readonly end: number
  /** Most bytes allowed to wait for the cursor; one more is an engine bug, not a slow peer. */
  readonly maxHeldBytes: number
  /** How much `output` buffers for its reader before the merger holds pieces back. */
  readonly outputHighWaterMark?: number
  /** Size of the copies a reused piece is read out in (default: the stdout chunk, 64 KiB). */
  readonly copyChunk?: number
  /**
   * Builds `output` from the merger's hooks, so a caller can hand out its own Readable subclass
   * (the download's stream, with its progress events) without another stream in between.
   */
  readonly createOutput?: (hooks: ReadableOptions) => ByteReadable
  /**
   * Lend a reused piece's memory to the reader instead of copying it out: `output` gets views
   * (`copyChunk` bytes each), and the piece goes back to its producer only once the reader says,
   * with `giveBack(bytes)`, that it no longer holds them. For a reader that writes each chunk
   * somewhere and knows when the write completed (the CLI's stdout); one that keeps chunks must
   * leave this off. At most 2 MiB (two pieces, if larger; `maxHeldBytes`, if smaller) stay lent:
   * a reader that never gives back stalls the output rather than growing memory.
   */
  readonly lend?: boolean
}

interface MergingEvents extends WritableEvents {
  /** The cursor moved: every piece before `next` has gone to `output`. */
  advance: [next: number]
}

const DEFAULT_OUTPUT_HWM = 1024 * 1024
/**
 * Lend mode: most bytes out with the reader and not given back (at least two pieces, so the
 * next one is going out while the sink confirms the last one's bytes). Lent pieces
 * are behind the cursor, outside the window the engine counts, so each one is a piece buffer on
 * top of it. A socket or pipe says "stop" past its own small buffer long before this; a file
 * written synchronously (stdout redirected to a file) takes everything at once and confirms a
 * tick later: lending it the whole window let the engine start that many new pieces into fresh
 * buffers meanwhile (measured, 1 GiB: 99 piece buffers made for a 64-piece window, +7 MiB RSS).
 */
const MAX_LENT_BYTES = 2 * 1024 * 1024

/** What goes in is a VerifiedPiece: narrowed from streamx's `write(data: unknown)`. */
export interface MergingWritable {
  write (piece: VerifiedPiece): boolean
}

export class MergingWritable extends Writable<MergingEvents> {
  /** The file's bytes in order. */
  readonly output: ByteReadable
  private readonly opts: MergingOptions
  private readonly held = new Map<number, VerifiedPiece>()
  /** Bytes of the cursor's piece already copied to `output` (pieces given back by copies). */
  private cursorOffset = 0
  private readonly copyChunk: number
  private cursorIndex: number
  private readonly lastIndex: number
  private heldNow = 0
  private heldPeak = 0
  private finalCallback: ((err: Error | null) => void) | null = null
  /** Bytes that left through writePrefix, before their piece was whole (BEP 52 block streaming). */
  private prefixOut = 0
  /** `output` said stop (push returned false): wait for its next read. */
  private outputFull = false
  /** Lend mode: pieces whose views went out, oldest first, each with the output offset it ends at. */
  private readonly lent: Array<{ readonly piece: VerifiedPiece, readonly end: number }> = []
  private lentNow = 0
  private readonly maxLent: number
  /** Lend mode: bytes pushed to `output` in all, and bytes the reader gave back. */
  private pushedBytes = 0
  private returnedBytes = 0
  /** Lend mode (the option, or `lendFromStart`). */
  private lending: boolean
  /** The views lent to `output`, so a reader other than the borrowing sink can be given copies. */
  private readonly lentViews = new WeakSet<Uint8Array>()
  /**
   * Only a sink that borrows (`lendFromStart`) can have readers beside it that must get copies:
   * a `lend` reader is the only one. Every view in a WeakSet is work for each GC (ephemerons).
   */
  private trackLent = false

  constructor (opts: MergingOptions) {
    // Each write is a whole verified piece already in memory: count pieces, not bytes. _write takes
    // a piece at once (the window, checked there, is the bound), so the queue holds pieces only
    // between write() and _write; with a limit of 1 every write() said "stop" and the engine paused
    // new pieces and refilled every peer once per verified piece for nothing.
    super({ highWaterMark: Math.max(1, Math.floor(opts.maxHeldBytes / opts.pieceLength)), byteLength: () => 1 })
    if (opts.end < opts.start || opts.start < 0) throw new RangeError(`bad byte range ${opts.start}..${opts.end}`)
    this.opts = opts
    this.copyChunk = Math.max(1, opts.copyChunk ?? STDOUT_CHUNK)
    this.lending = opts.lend === true
    this.maxLent = Math.min(opts.maxHeldBytes, Math.max(2 * opts.pieceLength, MAX_LENT_BYTES))
    this.cursorIndex = Math.floor(opts.start / opts.pieceLength)
    this.lastIndex = opts.end === opts.start ? this.cursorIndex - 1 : Math.floor((opts.end - 1) / opts.pieceLength)
    const hooks: ReadableOptions = {
      highWaterMark: opts.outputHighWaterMark ?? DEFAULT_OUTPUT_HWM,
      byteLength: (chunk: unknown) => (chunk as Uint8Array).byteLength,
      read: (cb: (err: Error | null) => void) => { this.outputFull = false; this.flush(); cb(null) },
      // The reader went away before the last byte: nothing more can be delivered.
      destroy: (cb: (err: Error | null) => void) => {
        if (!this.destroying && !this.delivered) this.destroy(new BtStreamError('output closed before the download finished'))
        cb(null)
      }
    }
    // Only flush() pushes to it, and only piece bytes.
    this.output = opts.createOutput === undefined ? new Readable(hooks) as ByteReadable : opts.createOutput(hooks)
    if (this.lastIndex < this.cursorIndex) this.output.push(null)
  }

  /** The next piece `output` needs. */
  get cursor (): number { return this.cursorIndex }
  /**
   * BEP 52: bytes [0, end) of piece `index` are verified (block by block) although the piece is
   * not whole yet. When `index` is the cursor's piece and `output` takes more, the part not yet
   * out leaves now, as copies (`piece` is the engine's buffer, still being filled). Anything
   * else is ignored: the whole piece brings those bytes later. Calling it again with the same or
   * a longer prefix emits only what is new.
   */
  writePrefix (index: number, piece: Uint8Array, end: number): void {
    if (index !== this.cursorIndex || this.outputFull || this.delivered || this.destroying || this.held.has(index)) return
    const bytes = this.trim(index, piece.subarray(0, Math.min(end, piece.byteLength)))
    const before = this.cursorOffset
    if (!this.copyOut(bytes)) this.outputFull = true
    this.prefixOut += this.cursorOffset - before
  }

  /**
   * Lend mode: the reader no longer holds the next `bytes` bytes it read from `output` (in
   * order). Lent pieces wholly behind that point go back to their producer.
   */
  giveBack (bytes: number): void {
    this.returnedBytes += bytes
    let freed = false
    while (this.lent.length > 0 && (this.lent[0] as { end: number }).end <= this.returnedBytes) {
      const { piece } = this.lent.shift() as { piece: VerifiedPiece }
      this.lentNow -= piece.data.byteLength
      piece.release?.()
      freed = true
    }
    if (freed && !this.destroying) this.flush()
  }

  /** Lend mode: bytes of pieces lent to the reader and not given back yet. */
  get lentBytes (): number { return this.lentNow }

  /** Reused pieces leave as views that the reader gives back (`lend`, or `lendFromStart`). */
  get lends (): boolean { return this.lending }

  /**
   * Switch to lend mode, for a reader that will give back every byte of `output` from its first
   * (`giveBack`): only possible while no byte has left yet, since bytes read before the switch
   * would never be given back. Returns whether lend mode is on.
   */
  lendFromStart (): boolean {
    if (this.pushedBytes === 0 && this.prefixOut === 0) this.lending = this.trackLent = true
    return this.lending
  }

  /** `chunk` (read from `output`) is a view of piece memory that goes back to its producer. */
  isLent (chunk: Uint8Array): boolean { return this.lentViews.has(chunk) }

  /** Every byte of the range has been pushed to `output`. */
  get delivered (): boolean { return this.cursorIndex > this.lastIndex }
  /** Bytes waiting for the cursor right now, and the most there ever were. */
  get heldBytes (): number { return this.heldNow }
  get peakHeldBytes (): number { return this.heldPeak }
  /** Bytes that reached `output` before their piece was whole (verified block by block). */
  get prefixBytes (): number { return this.prefixOut }

  override _write (piece: unknown, cb: (err: Error | null) => void): void {
    const verified = piece as VerifiedPiece
    const { index, data } = verified
    if (index < this.cursorIndex || index > this.lastIndex || this.held.has(index)) {
      cb(new BtStreamError(`merging writable: piece ${index} is outside ${this.cursorIndex}..${this.lastIndex} or already held`))
      return
    }
    if (this.heldNow + data.byteLength > this.opts.maxHeldBytes) {
      cb(new BtStreamError(`merging writable: holding piece ${index} would exceed the ${this.opts.maxHeldBytes}-byte window`))
      return
    }
    this.held.set(index, verified)
    this.heldNow += data.byteLength
    if (this.heldNow > this.heldPeak) this.heldPeak = this.heldNow
    this.flush()
    cb(null)
  }

  override _final (cb: (err: Error | null) => void): void {
    if (this.cursorIndex > this.lastIndex) { cb(null); return }
    // Pieces still wait for a slow reader, or the engine ended early: finish when flushed.
    this.finalCallback = cb
    this.flush()
  }

  override _destroy (cb: (err: Error | null) => void): void {
    for (const piece of this.held.values()) piece.release?.()
    this.held.clear()
    // Lent pieces are still the reader's: they go back when it says so (giveBack), as before.
    this.heldNow = 0
    // Once everything is pushed, the output ends on its own when its reader drains it.
    if (!this.delivered && !this.output.destroying) this.output.destroy(new BtStreamError('download stopped'))
    cb(null)
  }

  /** Push every piece the cursor has reached while `output` wants more. */
  private flush (): void {
    let moved = false
    while (!this.outputFull && this.cursorIndex <= this.lastIndex) {
      const piece = this.held.get(this.cursorIndex)
      if (piece === undefined) break
      if (piece.release !== undefined && this.lending && this.lentNow >= this.maxLent) break
      const more = piece.release === undefined ? this.pushView(piece) : this.lending ? this.pushLent(piece) : this.pushCopies(piece)
      if (this.cursorOffset === 0) {
        moved = true
        if (this.cursorIndex > this.lastIndex) this.output.push(null)
      }
      if (!more) this.outputFull = true
    }
    if (moved) this.emit('advance', this.cursorIndex)
    if (this.finalCallback !== null) {
      if (this.cursorIndex > this.lastIndex) {
        const cb = this.finalCallback
        this.finalCallback = null
        cb(null)
      } else if (this.held.size === 0) {
        const cb = this.finalCallback
        this.finalCallback = null
        cb(new BtStreamError(`merging writable ended at piece ${this.cursorIndex} of ${this.lastIndex}`))
      }
    }
  }

  /** A piece its producer does not want back: the reader gets a view of it, whole. */
  private pushView (piece: VerifiedPiece): boolean {
    // A prefix already streamed (writePrefix) is not emitted again.
    const bytes = this.trim(this.cursorIndex, piece.data).subarray(this.cursorOffset)
    this.cursorOffset = 0
    this.dropHeld(piece)
    return bytes.byteLength === 0 ? true : this.pushOut(bytes)
  }

  /**
   * A piece its producer reuses: the reader gets copies, `copyChunk` bytes at a time, and the
   * piece goes back once the last byte is copied. One copy of each byte buys the reuse of the
   * piece's memory (see PieceBufferPool); a chunk the reader dropped is young garbage, which V8
   * frees at its next minor collection, where a piece buffer waits for a full one.
   */
  private pushCopies (piece: VerifiedPiece): boolean {
    const bytes = this.trim(this.cursorIndex, piece.data)
    const more = this.copyOut(bytes)
    if (this.cursorOffset === bytes.byteLength) {
      this.cursorOffset = 0
      this.dropHeld(piece)
      piece.release?.()
    }
    return more
  }

  /**
   * Lend mode: views of a reused piece, `copyChunk` bytes each (a pipe takes 64 KiB writes best);
   * once the last one is out the piece waits in `lent` until the reader gives its bytes back.
   */
  private pushLent (piece: VerifiedPiece): boolean {
    const bytes = this.trim(this.cursorIndex, piece.data)
    let more = true
    while (more && this.cursorOffset < bytes.byteLength) {
      const end = Math.min(bytes.byteLength, this.cursorOffset + this.copyChunk)
      const view = bytes.subarray(this.cursorOffset, end)
      if (this.trackLent) this.lentViews.add(view)
      this.cursorOffset = end
      more = this.pushOut(view)
    }
    if (this.cursorOffset === bytes.byteLength) {
      this.cursorOffset = 0
      this.dropHeld(piece)
      this.lent.push({ piece, end: this.pushedBytes })
      this.lentNow += piece.data.byteLength
    }
    return more
  }

  /**
   * Copies of `bytes` from the cursor's offset on, `copyChunk` at a time, while `output` takes
   * more. Returns what the last push said.
   */
  private copyOut (bytes: Uint8Array): boolean {
    let more = true
    while (more && this.cursorOffset < bytes.byteLength) {
      const end = Math.min(bytes.byteLength, this.cursorOffset + this.copyChunk)
      const chunk = Buffer.allocUnsafe(end - this.cursorOffset)
      copyInto(chunk, bytes.subarray(this.cursorOffset, end), 0)
      this.cursorOffset = end
      more = this.pushOut(chunk)
    }
    return more
  }

  /** Every byte leaves through here, so lend mode knows which output offset a piece ends at. */
  private pushOut (bytes: Uint8Array): boolean {
    this.pushedBytes += bytes.byteLength
    return this.output.push(bytes)
  }

  /** The cursor's piece leaves `held`; the cursor moves to the next one. */
  private dropHeld (piece: VerifiedPiece): void {
    this.held.delete(this.cursorIndex)
    this.heldNow -= piece.data.byteLength
    this.cursorIndex++
  }

  /** The part of a piece inside the byte range: a view, never a copy. */
  private trim (index: number, data: Uint8Array): Uint8Array {
    const pieceStart = index * this.opts.pieceLength
    const from = Math.max(0, this.opts.start - pieceStart)
    const to = Math.min(data.byteLength, this.opts.end - pieceStart)
    return from === 0 && to === data.byteLength ? data : data.subarray(from, to)
  }
}
