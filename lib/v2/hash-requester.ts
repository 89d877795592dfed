/**
 * What to ask peers for (BEP 52 hash requests), and how to check what they send.
 *
 * - Piece layers, when a torrent came by magnet (the info dict has only the pieces roots):
 *   `pieceLayerRequests(file)`, 512 piece hashes a request (BEP 52: length "SHOULD NOT be greater
 *   than 512"; libtorrent asks the same), each with the full proof up to the root, so every
 *   answer is checked on its own against the pieces root we trust (`resolveHashes`).
 * - Block (leaf) hashes of one piece, to verify each 16 KiB block as it arrives:
 *   `blockHashesRequest(file, pieceInFile)`, no uncles: the answer is checked against the piece's
 *   hash from the piece layer.
 */
import type { V2File } from '../metainfo/types.js'
import { MAX_HASH_COUNT, type HashesMessage, type HashRequest } from '../wire/hash-messages.js'
import { climb, log2Exact, nextPowerOfTwo, pieceLayerHeight, rootOf, treeHeight } from './merkle.js'

/** BEP 52: a hash request's length "SHOULD NOT be greater than 512". */
export const PIECE_HASHES_PER_REQUEST = 512

/** The requests that fetch the whole piece layer of `file` (none for a file of one piece or less). */
export function pieceLayerRequests (file: V2File, pieceLength: number): HashRequest[] {
  if (file.piecesRoot === undefined || file.length <= pieceLength) return []
  const base = pieceLayerHeight(pieceLength)
  const height = treeHeight(file.length)
  const out: HashRequest[] = []
  for (let index = 0; index < file.pieceCount; index += PIECE_HASHES_PER_REQUEST) {
    // A power of two covering what is left (at least 2, as BEP 52 asks), within the padded layer.
    const length = Math.max(2, Math.min(PIECE_HASHES_PER_REQUEST, nextPowerOfTwo(file.pieceCount - index)))
    // Full proof: uncles up to the root's children (proof layers stop below the root).
    out.push({ piecesRoot: file.piecesRoot, baseLayer: base, index, length, proofLayers: height - base - 1 })
  }
  return out
}

/** Leaves under one piece hash: the piece's share of the tree (a small file's whole tree). */
export function leavesPerPiece (file: V2File, pieceLength: number): number {
  return file.length > pieceLength ? pieceLength / (16 * 1024) : 2 ** treeHeight(file.length)
}

/**
 * The request for the 16 KiB block hashes of piece `pieceInFile` of `file`, answered without
 * uncles (checked against the piece hash). Undefined when the piece is one block (its block hash
 * is the piece hash: 16 KiB pieces, or a file of one block), and for pieces of more than
 * MAX_HASH_COUNT blocks (over 128 MiB, past what libtorrent answers): verify those whole.
 */
export function blockHashesRequest (file: V2File, pieceInFile: number, pieceLength: number): HashRequest | undefined {
  if (file.piecesRoot === undefined) return undefined
  const perPiece = leavesPerPiece(file, pieceLength)
  if (perPiece < 2 || perPiece > MAX_HASH_COUNT) return undefined
  const k = log2Exact(perPiece)
  return { piecesRoot: file.piecesRoot, baseLayer: 0, index: pieceInFile * perPiece, length: perPiece, proofLayers: k - 1 }
}

/**
 * Where a `hashes` answer leads: the base hashes hashed up to their subtree's root, then the
 * uncles applied. Returns that ancestor and its place (height, index), for the caller to compare
 * with the node it trusts there (the pieces root at the file's tree height, or a piece hash).
 */
export function resolveHashes (m: HashesMessage): { hash: Uint8Array, height: number, index: number } {
  const k = log2Exact(m.length)
  const sub = rootOf(m.hashes, m.baseLayer, k)
  const index = m.index / m.length
  return { hash: climb(sub, index, m.uncles), height: m.baseLayer + k + m.uncles.length, index: Math.floor(index / 2 ** m.uncles.length) }
}
