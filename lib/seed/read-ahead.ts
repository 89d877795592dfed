/**
 * Read-ahead for the upload side: peers ask for 16 KiB blocks, nearly always every block of a
 * piece in order, so reading each block on its own costs one disk read (a thread-pool round trip
 * and a promise) per 16 KiB. ReadAhead reads the 256 KiB chunk of the piece a block lies in once,
 * keeps the last few chunks, and answers the chunk's other blocks from memory, whichever peer
 * asks. Blocks are copied out of the chunk, so a block waiting in a socket's write queue holds
 * 16 KiB, not the chunk it came from.
 *
 * Bounds (one ReadAhead per swarm, shared by every peer): at most `maxCached` chunks kept
 * (least recently used dropped first) and at most `maxReading` chunk reads running; past that a
 * block is read on its own, as before. So the memory is at most (maxCached + maxReading) ×
 * CHUNK: 8 MiB with the defaults, whatever the number of peers.
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

export interface ReadAheadOptions {
  readonly maxCached?: number
  readonly maxReading?: number
  readonly chunk?: number
}

export class ReadAhead implements PieceReader {
  private readonly inner: PieceReader
  private readonly geometry: PieceGeometry
  private readonly chunk: number
  private readonly chunksPerPiece: number
  private readonly maxCached: number
  private readonly maxReading: number
  /** Chunk key → its bytes (or the read under way), least recently used first. */
  private readonly cache = new Map<number, Promise<Uint8Array>>()
  private reading = 0
  /** Reads made of the inner reader (chunks and single blocks): for tests and the benchmark. */
  innerReads = 0

  constructor (inner: PieceReader, geometry: PieceGeometry, opts: ReadAheadOptions = {}) {
    this.inner = inner
    this.geometry = geometry
    this.chunk = opts.chunk ?? READ_AHEAD_CHUNK
    this.chunksPerPiece = Math.max(1, Math.ceil(geometry.pieceLength / this.chunk))
    this.maxCached = opts.maxCached ?? DEFAULT_MAX_CACHED
    this.maxReading = opts.maxReading ?? DEFAULT_MAX_READING
  }

  /** Chunks held now (done or being read). */
  get cached (): number { return this.cache.size }

  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    const start = Math.floor(begin / this.chunk) * this.chunk
    const end = Math.min(start + this.chunk, pieceLengthIn(this.geometry, index))
    // A block across two chunks, or past the piece (the Uploader refuses those first): alone.
    if (begin + length > end || this.maxCached === 0) return await this.direct(index, begin, length)
    const key = index * this.chunksPerPiece + start / this.chunk
    let chunk = this.cache.get(key)
    if (chunk !== undefined) {
      this.cache.delete(key) // most recently used goes last
      this.cache.set(key, chunk)
    } else {
      if (this.reading >= this.maxReading) return await this.direct(index, begin, length)
      chunk = this.readChunk(key, index, start, end - start)
    }
    let bytes: Uint8Array
    try {
      bytes = await chunk
    } catch {
      return await this.direct(index, begin, length)
    }
    // A copy, not a view (Buffer's slice is one): the block must not keep the chunk alive.
    const block = Buffer.allocUnsafeSlow(length)
    block.set(bytes.subarray(begin - start, begin - start + length))
    return block
  }

  private readChunk (key: number, index: number, start: number, length: number): Promise<Uint8Array> {
    this.reading++
    this.innerReads++
    const p = (async () => {
      try {
        const bytes = await this.inner.read(index, start, length)
        if (bytes.length !== length) throw new RangeError(`chunk read returned ${bytes.length} of ${length} bytes`)
        return bytes
      } finally {
        this.reading--
      }
    })()
    // A failed chunk is forgotten, so the next block asks again; its waiters read alone.
    p.catch(() => { if (this.cache.get(key) === p) this.cache.delete(key) })
    this.cache.set(key, p)
    while (this.cache.size > this.maxCached) {
      const oldest = this.cache.keys().next().value as number
      this.cache.delete(oldest)
    }
    return p
  }

  private async direct (index: number, begin: number, length: number): Promise<Uint8Array> {
    this.innerReads++
    return await this.inner.read(index, begin, length)
  }
}
