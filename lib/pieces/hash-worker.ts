/**
 * Piece digests on the helper thread (lib/util/helper-worker.ts runs them): the pieces' memory
 * was transferred there (no copy) and goes back with their digests (no copy either). A v1
 * piece's digest is its SHA-1 (BEP 3); with a merkle height, a v2 piece's is the root of its
 * 16 KiB blocks' SHA-256 tree (BEP 52).
 *
 * Pieces travel in batches (every piece completed in one turn of the main thread's event loop):
 * a message between threads costs ~20 us of the main thread whatever it carries, and with 64 KiB
 * pieces one message per piece was 6% of it.
 */
import { createHash } from 'node:crypto'
import { pieceRoot } from '../v2/merkle.js'

/** In `heights`: the piece is a v1 piece, hashed with SHA-1. */
export const SHA1_PIECE = -1

export interface HashBatch {
  readonly ids: readonly number[]
  /** Shared memory is read in place; an ArrayBuffer was moved here and goes back. */
  readonly buffers: ReadonlyArray<ArrayBuffer | SharedArrayBuffer>
  /** Per piece: SHA1_PIECE, or the BEP 52 merkle subtree height to hash it as. */
  readonly heights: readonly number[]
}

export interface HashedBatch {
  readonly ids: readonly number[]
  /** The moved pieces' memory, back; null for shared memory (the main thread still has it). */
  readonly buffers: ReadonlyArray<ArrayBuffer | null>
  /** Every piece's digest, one after the other: piece i's ends at `ends[i]`. */
  readonly digests: Uint8Array
  readonly ends: readonly number[]
}

/** The digest a piece asks for, on whichever thread runs it. */
export function digestOf (data: Uint8Array, merkleHeight: number | undefined): Uint8Array {
  return merkleHeight === undefined ? createHash('sha1').update(data).digest() : pieceRoot(data, merkleHeight)
}

/** The thread's side of one batch: the digests, and the same memory to send back. */
export function hashBatch (batch: HashBatch): HashedBatch {
  const parts = batch.buffers.map((buffer, i) => {
    const height = batch.heights[i] ?? SHA1_PIECE
    return digestOf(new Uint8Array(buffer), height === SHA1_PIECE ? undefined : height)
  })
  const digests = new Uint8Array(parts.reduce((n, d) => n + d.byteLength, 0))
  const ends: number[] = []
  let end = 0
  for (const d of parts) {
    digests.set(d, end)
    end += d.byteLength
    ends.push(end)
  }
  return { ids: batch.ids, buffers: batch.buffers.map(b => b instanceof ArrayBuffer ? b : null), digests, ends }
}
