/**
 * Piece verification on the main thread: SHA-1 of the whole piece against the torrent's digest
 * (BEP 3 `pieces`), or for a v2-only torrent the SHA-256 merkle root of its blocks against the
 * piece hash from the file's piece layer (BEP 52). Nothing leaves the process before this says
 * yes. (The engine hashes on a worker thread instead: lib/swarm/piece-verification.ts.)
 */
import { createHash } from 'node:crypto'
import type { Metainfo } from '../metainfo/types.js'
import { V2PieceVerifier } from '../v2/piece-verifier.js'

export const SHA1_LENGTH = 20

/** Does `data` hash to the 20 bytes at `hashes[index * 20]`? */
export function pieceMatches (data: Uint8Array, hashes: Uint8Array, index: number): boolean {
  return digestMatches(createHash('sha1').update(data).digest(), hashes, index)
}

/** Is `digest` the 20 bytes at `hashes[index * 20]`? */
export function digestMatches (digest: Uint8Array, hashes: Uint8Array, index: number): boolean {
  const at = index * SHA1_LENGTH
  if (at + SHA1_LENGTH > hashes.length) return false
  for (let i = 0; i < SHA1_LENGTH; i++) if (digest[i] !== hashes[at + i]) return false
  return true
}

/** One verifier per v2 torrent: it indexes the files and splits the piece layers once. */
const v2Verifiers = new WeakMap<Metainfo, V2PieceVerifier>()

/**
 * Is `data` piece `index` of `meta`, whatever its version: SHA-1 for v1 and hybrid torrents,
 * the merkle check for v2-only ones (`data` is then the piece's bytes up to its file's end,
 * `pieceLengthAt`).
 */
export function pieceVerifies (meta: Metainfo, index: number, data: Uint8Array): boolean {
  if (meta.version !== 'v2') return pieceMatches(data, meta.pieceHashes, index)
  let v = v2Verifiers.get(meta)
  if (v === undefined) v2Verifiers.set(meta, v = new V2PieceVerifier(meta))
  return v.verifyPiece(index, data)
}
