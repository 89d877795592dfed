/**
 * Per-block blame for a v2 piece that failed its check (BEP 52): when several peers sent its
 * blocks, the piece's 16 KiB block hashes are asked of a peer (a hash request of the leaf layer,
 * with the proof up to the piece hash), checked once against the piece hash we trust, and then
 * each block we received is hashed: a block that does not match names its sender, exactly and at
 * once, where a v1 piece can only be re-fetched and compared (lib/swarm/suspect-pieces.ts).
 *
 * Bounded: at most MAX_PENDING failed pieces (and MAX_PENDING_BYTES of them) wait for an answer;
 * a newer failure evicts the oldest, whose blame then falls back to the v1 way. A reject, or an
 * answer that does not prove to the piece hash, drops the record (the liar there is the answering
 * peer: `mismatch`, for the caller to count against it).
 */
import { decodeHashes, decodeHashReject, HashMessageId, type HashRequest } from '../wire/hash-messages.js'
import { BLOCK_SIZE } from './merkle.js'
import type { V2PieceVerifier } from './piece-verifier.js'

/** Failed pieces waiting for their block hashes: a few at once is all a bad peer can cause before it is banned. */
const MAX_PENDING = 8
/** And their bytes: like the suspect pieces' bound, never more than a window's worth. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024

export interface FailedPiece<P> {
  readonly index: number
  readonly buffer: Uint8Array
  readonly senders: readonly (P | undefined)[]
}

export type BlameResult<P> =
  | { readonly kind: 'blamed', readonly index: number, readonly liars: ReadonlyMap<P, number> }
  | { readonly kind: 'mismatch', readonly index: number }
  | { readonly kind: 'rejected', readonly index: number }

interface Pending<P> { readonly piece: FailedPiece<P>, readonly request: HashRequest }

export class BlockBlame<P> {
  private readonly _verifier: V2PieceVerifier
  /** By request key, oldest first (Map order). */
  private readonly _pending = new Map<string, Pending<P>>()
  private _bytes = 0

  constructor (verifier: V2PieceVerifier) {
    this._verifier = verifier
  }

  /**
   * A piece failed: the request to send for its block hashes, or undefined when asking cannot
   * help (one sender: it is to blame; a one-block piece; a piece too large for one request).
   */
  failed (piece: FailedPiece<P>): HashRequest | undefined {
    if (new Set(piece.senders.filter(p => p !== undefined)).size < 2) return undefined
    const request = this._verifier.blockHashesRequest(piece.index)
    if (request === undefined || piece.buffer.byteLength > MAX_PENDING_BYTES) return undefined
    const key = keyOf(request)
    if (this._pending.has(key)) return undefined
    while (this._pending.size >= MAX_PENDING || this._bytes + piece.buffer.byteLength > MAX_PENDING_BYTES) {
      const [oldest, p] = this._pending.entries().next().value as [string, Pending<P>]
      this._pending.delete(oldest)
      this._bytes -= p.piece.buffer.byteLength
    }
    this._pending.set(key, { piece, request })
    this._bytes += piece.buffer.byteLength
    return request
  }

  /** A `hashes` (22) or `hash reject` (23) payload; undefined when it answers no failed piece of ours. */
  onMessage (id: number, payload: Uint8Array): BlameResult<P> | undefined {
    if (id === HashMessageId.hashReject) {
      const p = this._take(keyOf(decodeHashReject(payload)))
      return p === undefined ? undefined : { kind: 'rejected', index: p.piece.index }
    }
    if (id !== HashMessageId.hashes) return undefined
    const m = decodeHashes(payload)
    const p = this._take(keyOf(m))
    if (p === undefined) return undefined
    const hashes = this._verifier.acceptBlockHashes(p.piece.index, m)
    if (hashes === undefined) return { kind: 'mismatch', index: p.piece.index }
    const liars = new Map<P, number>()
    const { buffer, senders } = p.piece
    for (let b = 0; b < senders.length; b++) {
      const sender = senders[b]
      if (sender === undefined) continue
      const block = buffer.subarray(b * BLOCK_SIZE, Math.min((b + 1) * BLOCK_SIZE, buffer.byteLength))
      if (!this._verifier.verifyBlock(hashes, b, block) && !liars.has(sender)) liars.set(sender, b)
    }
    return { kind: 'blamed', index: p.piece.index, liars }
  }

  private _take (key: string): Pending<P> | undefined {
    const p = this._pending.get(key)
    if (p === undefined) return undefined
    this._pending.delete(key)
    this._bytes -= p.piece.buffer.byteLength
    return p
  }
}

function keyOf (r: HashRequest): string {
  return `${Buffer.from(r.piecesRoot).toString('hex')}:${r.baseLayer}:${r.index}:${r.length}:${r.proofLayers}`
}
