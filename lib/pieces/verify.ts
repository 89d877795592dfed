/**
 * Piece verification: SHA-1 of the whole piece against the torrent's digest (BEP 3 `pieces`).
 * Nothing leaves the process before this says yes.
 */
import { createHash } from 'node:crypto'

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
