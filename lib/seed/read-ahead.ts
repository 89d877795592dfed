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
 * cache is at most (maxCached + maxReading) × CHUNK: 8 MiB with the defaults, whatever the number
 * of peers, plus the chunks the connections pin.
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
/** Of those, what prefetches (hints, not requests) may take: the rest is kept for blocks asked now. */
const PREFETCH_SHARE = 3 / 4

export interface ReadAheadOptions {
  readonly maxCached?: number
  readonly maxReading?: number
  readonly chunk?: number
}

/** A chunk in the cache: its bytes once read (`bytes`), the read under way until then. */
interface Chunk {
  readonly read: Promise<Uint8Array>
  bytes: Uint8Array | undefined
  /** When it was last asked for (ReadAhead's use counter): the least recent is dropped first. */
  used: number
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
    let bytes: Uint8Array
    try {
      bytes = await chunk.read
    } catch {
      return await this.direct(index, begin, length)
    }
    return this.blockOf(bytes, begin, length)
  }

  /** The block, when its chunk is read already: no I/O and no promise (the Uploader's fast path). */
  readNow (index: number, begin: number, length: number): Uint8Array | undefined {
    const key = this.keyOf(index, begin, length)
    if (key < 0) return undefined
    const chunk = this.cache.get(key)
    if (chunk?.bytes === undefined) return undefined
    chunk.used = ++this.uses
    return this.blockOf(chunk.bytes, begin, length)
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
  private blockOf (bytes: Uint8Array, begin: number, length: number): Uint8Array {
    const at = begin % this.chunk
    return bytes.subarray(at, at + length)
  }

  private readChunk (key: number, index: number, start: number): Chunk {
    const length = Math.min(start + this.chunk, pieceLengthIn(this.geometry, index)) - start
    this.reading++
    this.innerReads++
    const chunk: Chunk = { bytes: undefined, used: ++this.uses, read: this.readInner(index, start, length, (bytes) => { chunk.bytes = bytes }) }
    // A failed chunk is forgotten, so the next block asks again; its waiters read alone.
    chunk.read.catch(() => { if (this.cache.get(key) === chunk) this.cache.delete(key) })
    this.cache.set(key, chunk)
    if (this.cache.size > this.maxCached) this.dropLeastRecent()
    return chunk
  }

  /** One scan of `maxCached` entries, once per chunk read (not per block). */
  private dropLeastRecent (): void {
    let oldest = -1
    let used = Infinity
    for (const [key, c] of this.cache) if (c.used < used) { used = c.used; oldest = key }
    this.cache.delete(oldest)
  }

  private async readInner (index: number, start: number, length: number, done: (bytes: Uint8Array) => void): Promise<Uint8Array> {
    try {
      const bytes = await this.inner.read(index, start, length)
      if (bytes.length !== length) throw new RangeError(`chunk read returned ${bytes.length} of ${length} bytes`)
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
