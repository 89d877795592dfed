/**
 * Read-ahead for the upload side: peers ask for 16 KiB blocks, nearly always every block of a
 * piece in order, so reading each block on its own costs one disk read (a thread-pool round trip
 * and a promise) per 16 KiB. ReadAhead reads the 256 KiB chunk of the piece a block lies in once,
 * keeps the last few chunks, and answers the chunk's other blocks from memory, whichever peer
 * asks: `readNow` at once when the chunk is in (no promise: the Uploader's path for nearly every
 * block), `read` otherwise. The Uploader announces the requests waiting in a peer's queue
 * (`prefetch`), so the chunk a peer will want next is read before its turn comes.
 *
 * Blocks are views into their chunk, not copies (see blockOf): a block waiting in a socket's
 * write queue keeps its chunk alive, and the Uploader bounds how many chunks one connection may
 * keep so (pin-window.ts: 2.25 MiB), copying past that.
 *
 * Bounds (one ReadAhead per swarm, shared by every peer): at most `maxCached` chunks kept
 * (least recently used dropped first) and at most `maxReading` chunk reads running (prefetches
 * take at most three quarters of them); past that a block is read on its own, as before. So the
 * cache is at most (maxCached + maxReading + maxFree) × CHUNK: 10 MiB with the defaults, whatever
 * the number of peers, plus the chunks the connections pin.
 *
 * Recycling: when the inner reader can read into a buffer it is given (`readInto`), chunks are
 * read into buffers that come back: a chunk's buffer is reused once the chunk left the cache and
 * every block lent from it was released (`release`: the Uploader calls it when the socket wrote
 * the block). A new 256 KiB ArrayBuffer per chunk made V8 run a full collection every ~30 MiB
 * served (17 per 512 MiB, measured with --trace-gc), most of a seed's CPU beyond the copies. A
 * block never released (a transport that cannot tell when it wrote it) keeps its buffer from
 * coming back: the garbage collector takes it, as before. At most `maxFree` buffers wait to be
 * reused.
 *
 * Only pieces we have are read (the Uploader checks `have` first), and a verified piece's bytes
 * never change, so a cached chunk never goes stale. A chunk read that fails (a file shorter than
 * the chunk, a side-file piece) falls back to reading the block alone: its answer, bytes or
 * error, is the one the caller gets, exactly as without read-ahead.
 */
import { pieceLengthIn, type PieceGeometry, type PieceReader } from './uploader.js'

/**
 * 256 KiB: the usual piece length, 16 blocks per read; larger pieces are read in several
 * chunks, so a peer that wants one block of a 16 MiB piece does not make us read it all.
 */
export const READ_AHEAD_CHUNK = 256 * 1024
/** Chunks kept (4 MiB): peers fetching different pieces at once each find theirs. */
export const DEFAULT_MAX_CACHED = 16
/** Chunk reads running at once (4 MiB), across every peer: past it, blocks are read alone. */
export const DEFAULT_MAX_READING = 16
/** Chunk buffers kept for reuse (2 MiB): a seed serving in order needs one or two at a time. */
export const DEFAULT_MAX_FREE = 8
/** Of those, what prefetches (hints, not requests) may take: the rest is kept for blocks asked now. */
const PREFETCH_SHARE = 3 / 4

export interface ReadAheadOptions {
  readonly maxCached?: number
  readonly maxReading?: number
  readonly chunk?: number
  /** Chunk buffers kept for reuse (default DEFAULT_MAX_FREE; 0: none reused). */
  readonly maxFree?: number
}

/** A chunk in the cache: its bytes once read (`bytes`), the read under way until then. */
interface Chunk {
  readonly read: Promise<Uint8Array>
  bytes: Uint8Array | undefined
  /** When it was last asked for (ReadAhead's use counter): the least recent is dropped first. */
  used: number
  /** The reusable buffer it is read into; undefined: the inner reader's own, never reused. */
  readonly buffer: ArrayBuffer | undefined
  /** What keeps `buffer` from reuse: the read under way, callers awaiting it, blocks lent out. */
  holds: number
  /** Out of the cache: its buffer is reused once `holds` is 0. */
  gone: boolean
  /** Its read failed: the buffer is never reused (what the failed read did to it is unknown). */
  failed: boolean
}

export class ReadAhead implements PieceReader {
  private readonly inner: PieceReader
  private readonly geometry: PieceGeometry
  private readonly chunk: number
  private readonly chunksPerPiece: number
  private readonly maxCached: number
  private readonly maxReading: number
  /** Chunk reads a prefetch may start while fewer run: room is left for blocks asked now. */
  private readonly maxPrefetching: number
  /**
   * Chunk key → the chunk (read, or being read). A hit changes only the chunk's `used`, never
   * the map: this map lives long (old space), and V8 allocates a long-lived Map's rehashed table
   * in old space, so a delete and a set per 16 KiB block cost a full GC every few MiB served.
   */
  private readonly cache = new Map<number, Chunk>()
  private uses = 0
  private reading = 0
  /** Buffers of `bufferSize` bytes, free for the next chunk read. */
  private readonly free: ArrayBuffer[] = []
  private readonly maxFree: number
  private readonly bufferSize: number
  /** A reusable buffer → the chunk read into it last, for `release`. */
  private readonly owners = new WeakMap<ArrayBufferLike, Chunk>()
  /** Chunk buffers allocated (not taken from `free`): for tests and the benchmark. */
  buffersAllocated = 0
  /** Reads made of the inner reader (chunks and single blocks): for tests and the benchmark. */
  innerReads = 0
  /** Chunk reads started by `prefetch`: for tests and the benchmark. */
  prefetched = 0

  constructor (inner: PieceReader, geometry: PieceGeometry, opts: ReadAheadOptions = {}) {
    this.inner = inner
    this.geometry = geometry
    this.chunk = opts.chunk ?? READ_AHEAD_CHUNK
    this.chunksPerPiece = Math.max(1, Math.ceil(geometry.pieceLength / this.chunk))
    this.maxCached = opts.maxCached ?? DEFAULT_MAX_CACHED
    this.maxReading = opts.maxReading ?? DEFAULT_MAX_READING
    this.maxPrefetching = Math.ceil(this.maxReading * PREFETCH_SHARE)
    this.maxFree = opts.maxFree ?? DEFAULT_MAX_FREE
    // No chunk is longer than a piece: small pieces get small buffers.
    this.bufferSize = Math.min(this.chunk, geometry.pieceLength)
  }

  /** Chunks held now (done or being read). */
  get cached (): number { return this.cache.size }

  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    const key = this.keyOf(index, begin, length)
    // A block across two chunks, or past the piece (the Uploader refuses those first): alone.
    if (key < 0) return await this.direct(index, begin, length)
    let chunk = this.touch(key)
    if (chunk === undefined) {
      if (this.reading >= this.maxReading) return await this.direct(index, begin, length)
      chunk = this.readChunk(key, index, begin - begin % this.chunk)
    }
    // Held while we wait: the chunk may leave the cache meanwhile, its buffer must not be reused.
    chunk.holds++
    let block: Uint8Array
    try {
      block = this.blockOf(chunk, await chunk.read, begin, length)
    } catch {
      return await this.direct(index, begin, length)
    } finally {
      this.unhold(chunk)
    }
    return block
  }

  /** The block, when its chunk is read already: no I/O and no promise (the Uploader's fast path). */
  readNow (index: number, begin: number, length: number): Uint8Array | undefined {
    const key = this.keyOf(index, begin, length)
    if (key < 0) return undefined
    const chunk = this.cache.get(key)
    if (chunk?.bytes === undefined) return undefined
    chunk.used = ++this.uses
    return this.blockOf(chunk, chunk.bytes, begin, length)
  }

  /** Whether `readNow` would answer the block now (its chunk is read): it is not lent. */
  inMemory (index: number, begin: number, length: number): boolean {
    const key = this.keyOf(index, begin, length)
    return key >= 0 && this.cache.get(key)?.bytes !== undefined
  }

  /**
   * The caller is done with `block` (from `read` or `readNow`): once every block of its chunk is
   * released and the chunk left the cache, the chunk's buffer is reused. Exactly once per block,
   * and only when nothing holds the block's bytes any more (the socket wrote them).
   */
  release (block: Uint8Array): void {
    const chunk = this.owners.get(block.buffer)
    if (chunk !== undefined && chunk.holds > 0) this.unhold(chunk)
  }

  /**
   * The Uploader's hint that a peer's queue holds this block: its chunk is read now, if it is
   * not held already and a chunk read is free (blocks asked now keep the last quarter of them).
   */
  prefetch (index: number, begin: number, length: number): void {
    if (this.reading >= this.maxPrefetching) return
    const key = this.keyOf(index, begin, length)
    if (key < 0 || this.cache.has(key)) return
    this.prefetched++
    this.readChunk(key, index, begin - begin % this.chunk).read.catch(() => {})
  }

  /** The cache key of the chunk holding the block, or -1 when no chunk holds all of it. */
  private keyOf (index: number, begin: number, length: number): number {
    if (this.maxCached === 0) return -1
    const start = begin - begin % this.chunk
    if (begin + length > Math.min(start + this.chunk, pieceLengthIn(this.geometry, index))) return -1
    return index * this.chunksPerPiece + start / this.chunk
  }

  /** The chunk under `key`, made the most recently used; undefined when not held. */
  private touch (key: number): Chunk | undefined {
    const chunk = this.cache.get(key)
    if (chunk !== undefined) chunk.used = ++this.uses
    return chunk
  }

  /**
   * A view, not a copy: a copy is a 16 KiB ArrayBuffer per block, and V8 runs a full GC per
   * ~64 MiB of ArrayBuffers allocated. The view keeps the chunk alive while a socket holds it;
   * the Uploader bounds that per connection (pin-window.ts).
   */
  private blockOf (chunk: Chunk, bytes: Uint8Array, begin: number, length: number): Uint8Array {
    const at = begin % this.chunk
    // Lent: the buffer is not reused until the caller releases the block.
    if (chunk.buffer !== undefined) chunk.holds++
    return bytes.subarray(at, at + length)
  }

  private readChunk (key: number, index: number, start: number): Chunk {
    const length = Math.min(start + this.chunk, pieceLengthIn(this.geometry, index)) - start
    this.reading++
    this.innerReads++
    const buffer = this.inner.readInto === undefined ? undefined : this.takeBuffer()
    const chunk: Chunk = {
      bytes: undefined,
      used: ++this.uses,
      buffer,
      holds: 1,
      gone: false,
      failed: false,
      read: this.readInner(index, start, length, buffer, (bytes) => { chunk.bytes = bytes })
    }
    if (buffer !== undefined) this.owners.set(buffer, chunk)
    chunk.read.then(() => { this.unhold(chunk) }, () => {
      // A failed chunk is forgotten, so the next block asks again; its waiters read alone.
      chunk.failed = true
      if (this.cache.get(key) === chunk) this.drop(key, chunk)
      this.unhold(chunk)
    })
    this.cache.set(key, chunk)
    if (this.cache.size > this.maxCached) this.dropLeastRecent()
    return chunk
  }

  /** One scan of `maxCached` entries, once per chunk read (not per block). */
  private dropLeastRecent (): void {
    let oldest = -1
    let chunk: Chunk | undefined
    for (const [key, c] of this.cache) if (chunk === undefined || c.used < chunk.used) { chunk = c; oldest = key }
    if (chunk !== undefined) this.drop(oldest, chunk)
  }

  private drop (key: number, chunk: Chunk): void {
    this.cache.delete(key)
    chunk.gone = true
    if (chunk.holds === 0) this.recycle(chunk)
  }

  private unhold (chunk: Chunk): void {
    if (--chunk.holds === 0 && chunk.gone) this.recycle(chunk)
  }

  /** The chunk is out of the cache and nothing holds its buffer: it goes to the next read. */
  private recycle (chunk: Chunk): void {
    const buffer = chunk.buffer
    chunk.bytes = undefined
    if (buffer === undefined || chunk.failed) return
    this.owners.delete(buffer)
    if (this.free.length < this.maxFree) this.free.push(buffer)
  }

  private takeBuffer (): ArrayBuffer {
    const free = this.free.pop()
    if (free !== undefined) return free
    this.buffersAllocated++
    // Not zeroed: every byte of a chunk is read into it before anyone sees it.
    return Buffer.allocUnsafeSlow(this.bufferSize).buffer as ArrayBuffer
  }

  private async readInner (index: number, start: number, length: number, buffer: ArrayBuffer | undefined, done: (bytes: Uint8Array) => void): Promise<Uint8Array> {
    try {
      let bytes: Uint8Array
      if (buffer !== undefined && this.inner.readInto !== undefined) {
        bytes = new Uint8Array(buffer, 0, length)
        await this.inner.readInto(index, start, bytes)
      } else {
        bytes = await this.inner.read(index, start, length)
        if (bytes.length !== length) throw new RangeError(`chunk read returned ${bytes.length} of ${length} bytes`)
      }
      done(bytes)
      return bytes
    } finally {
      this.reading--
    }
  }

  private async direct (index: number, begin: number, length: number): Promise<Uint8Array> {
    this.innerReads++
    return await this.inner.read(index, begin, length)
  }
}
