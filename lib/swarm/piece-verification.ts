/**
 * How the engine checks a piece whose blocks are all in, by the torrent's version: BEP 3's SHA-1
 * of the piece (v1 and hybrid torrents), or BEP 52's SHA-256 merkle root of the piece's 16 KiB
 * blocks against the piece hash from the file's piece layer (v2-only torrents). Both hash on the
 * PieceHasher's thread; the piece's buffer travels there and back without a copy.
 */
import type { Metainfo } from '../metainfo/types.js'
import { PieceHasher } from '../pieces/piece-hasher.js'
import { digestMatches } from '../pieces/verify.js'
import { equalHashes } from '../v2/merkle.js'
import { V2PieceVerifier } from '../v2/piece-verifier.js'

export interface PieceCheck {
  readonly ok: boolean
  /** The piece's bytes, back from the hashing thread (the buffer given was detached). */
  readonly data: Buffer
}

export interface PieceVerification {
  /** The check's name for a ban reason ("failed its SHA-1 check"). */
  readonly name: string
  check (index: number, data: Buffer): Promise<PieceCheck>
  /** Start the hashing thread before the first piece needs it. */
  warm (): void
  /** Ends the hashing thread; pending checks never settle. */
  close (): void
}

export function pieceVerification (meta: Metainfo): PieceVerification {
  return meta.version === 'v2' ? new V2Verification(new V2PieceVerifier(meta)) : new V1Verification(meta.pieceHashes)
}

class V1Verification implements PieceVerification {
  readonly name = 'SHA-1'
  private readonly hasher = new PieceHasher()
  constructor (private readonly hashes: Uint8Array) {}

  async check (index: number, data: Buffer): Promise<PieceCheck> {
    const { digest, data: back } = await this.hasher.digest(data)
    return { ok: digestMatches(digest, this.hashes, index), data: back }
  }

  warm (): void { this.hasher.warm() }
  close (): void { this.hasher.close() }
}

class V2Verification implements PieceVerification {
  readonly name = 'SHA-256 (BEP 52)'
  private readonly hasher = new PieceHasher()
  constructor (readonly verifier: V2PieceVerifier) {}

  async check (index: number, data: Buffer): Promise<PieceCheck> {
    // Unknown hash (piece layers not fetched): nothing to compare with, so it cannot pass.
    const want = this.verifier.pieceCheck(index)
    if (want === undefined || data.byteLength !== want.size) return { ok: false, data }
    const { digest, data: back } = await this.hasher.merkleRoot(data, want.height)
    return { ok: equalHashes(digest, want.hash), data: back }
  }

  warm (): void { this.hasher.warm() }
  close (): void { this.hasher.close() }
}
