import { METADATA_PIECE_LENGTH, metadataPieceCount, metadataPieceLength } from './ut-metadata-codec.js'

/**
 * The info dict being put together from BEP 9 pieces, and who sent (or was asked for) each
 * piece, so a failed SHA-1 can be traced back to a peer. `S` is the fetcher's peer record.
 * Allocates `size` bytes once; the fetcher bounds `size`.
 */
export class MetadataAssembly<S> {
  readonly size: number
  readonly pieceCount: number
  readonly bytes: Uint8Array
  private readonly _source: Array<S | undefined>
  private readonly _claimed: Array<S | undefined>
  private _have = 0

  constructor (size: number) {
    this.size = size
    this.pieceCount = metadataPieceCount(size)
    this.bytes = new Uint8Array(size)
    this._source = new Array<S | undefined>(this.pieceCount).fill(undefined)
    this._claimed = new Array<S | undefined>(this.pieceCount).fill(undefined)
  }

  get haveCount (): number { return this._have }
  get complete (): boolean { return this._have === this.pieceCount }

  has (piece: number): boolean { return this._source[piece] !== undefined }

  /** The first piece neither held nor asked of anyone, skipping `skip` (pieces the peer rejected). */
  nextWanted (skip: ReadonlySet<number>): number | undefined {
    for (let i = 0; i < this.pieceCount; i++) {
      if (this._source[i] === undefined && this._claimed[i] === undefined && !skip.has(i)) return i
    }
    return undefined
  }

  /** End game: the first piece not held but asked of someone, skipping `skip`. */
  nextClaimedElsewhere (skip: ReadonlySet<number>): number | undefined {
    for (let i = 0; i < this.pieceCount; i++) {
      if (this._source[i] === undefined && this._claimed[i] !== undefined && !skip.has(i)) return i
    }
    return undefined
  }

  claim (piece: number, by: S): void { this._claimed[piece] = by }

  /** Clears a claim, if `by` still holds it (a timed-out request may have been handed on). */
  release (piece: number, by: S): void {
    if (this._claimed[piece] === by) this._claimed[piece] = undefined
  }

  /** `data` has the exact length for `piece` (the fetcher checked); it is copied. */
  store (piece: number, data: Uint8Array, from: S): void {
    if (data.length !== metadataPieceLength(this.size, piece)) throw new RangeError(`piece ${piece}: ${data.length} bytes`)
    this.bytes.set(data, piece * METADATA_PIECE_LENGTH)
    if (this._source[piece] === undefined) this._have++
    this._source[piece] = from
  }

  /** Forgets every piece `from` sent (a peer found lying), so they are fetched again. */
  discardFrom (from: S): void {
    for (let i = 0; i < this.pieceCount; i++) {
      if (this._source[i] === from) { this._source[i] = undefined; this._have-- }
      if (this._claimed[i] === from) this._claimed[i] = undefined
    }
  }

  /** The distinct peers the held pieces came from. */
  sources (): S[] {
    const out = new Set<S>()
    for (const s of this._source) if (s !== undefined) out.add(s)
    return [...out]
  }

  /** For each held piece that differs from `good` (verified, same size): its sender and index. */
  differingSources (good: MetadataAssembly<unknown>): Array<[S, number]> {
    const out: Array<[S, number]> = []
    for (let i = 0; i < this.pieceCount; i++) {
      const src = this._source[i]
      if (src === undefined) continue
      const begin = i * METADATA_PIECE_LENGTH
      const end = begin + metadataPieceLength(this.size, i)
      if (!Buffer.from(this.bytes.buffer, this.bytes.byteOffset + begin, end - begin).equals(good.bytes.subarray(begin, end))) out.push([src, i])
    }
    return out
  }
}
