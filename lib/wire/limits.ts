import { MAX_BLOCK_LENGTH } from './messages.js'

/**
 * Bounds on what a peer may send, checked on the length prefix (and the id byte) *before* the
 * message body is buffered: a hostile length never reaches an allocation.
 */
export interface WireLimits {
  /** Pieces in the torrent; undefined while unknown (a magnet before its metadata). */
  readonly pieceCount?: number | undefined
  /** Largest block in a request or piece; BEP 3: "all current implementations use 2^14". */
  readonly maxBlockLength?: number
  /** Largest extended (BEP 10) payload after the extended id byte. */
  readonly maxExtendedLength?: number
}

/**
 * 1 MiB: a BEP 9 metadata piece is 16 KiB plus a small dictionary and ut_pex messages are a few
 * KiB, so this leaves room for extensions we do not know while bounding the buffer per peer.
 */
export const DEFAULT_MAX_EXTENDED_LENGTH = 1024 * 1024

/**
 * While the piece count is unknown, indices and bitfields are checked against this cap instead:
 * 2^22 pieces (a 512 KiB bitfield) is 64 GiB at the smallest usual piece size (16 KiB), past any
 * torrent seen in practice. The exact checks run once the count is known (setPieceCount).
 */
export const UNKNOWN_PIECE_COUNT_CAP = 2 ** 22

/** Resolved limits, every field present. */
export interface ResolvedLimits {
  readonly pieceCount: number | undefined
  readonly maxBlockLength: number
  readonly maxExtendedLength: number
}

export function resolveLimits (l: WireLimits = {}): ResolvedLimits {
  const pieceCount = l.pieceCount
  if (pieceCount !== undefined && (!Number.isSafeInteger(pieceCount) || pieceCount < 1 || pieceCount > 0xffffffff)) {
    throw new RangeError(`bad piece count ${pieceCount}`)
  }
  return {
    pieceCount,
    maxBlockLength: l.maxBlockLength ?? MAX_BLOCK_LENGTH,
    maxExtendedLength: l.maxExtendedLength ?? DEFAULT_MAX_EXTENDED_LENGTH
  }
}
