/**
 * Hash-failure forensics. When a piece fails, we keep what each peer sent for it; when the piece
 * later verifies, every block that differs from the good copy names a peer that sent bad data for
 * certain, while the honest peers that shared the failed piece are cleared. Strikes alone would
 * sooner or later ban an honest peer that kept sharing pieces with a liar.
 */
import { BLOCK_LENGTH, type ActivePiece } from '../pieces/active-piece.js'

/** Failed pieces kept at most, and their bytes at most: forensics never outgrows the window. */
const MAX_RECORDS = 8
const MAX_BYTES = 16 * 1024 * 1024

interface SuspectRecord<P> {
  readonly buffer: Uint8Array
  readonly senders: readonly (P | undefined)[]
}

export class SuspectPieces<P = unknown> {
  private readonly records = new Map<number, SuspectRecord<P>>()
  private bytes = 0

  /** Keep a failed piece's bytes (the buffer is no longer the tracker's) and who sent each block. */
  record (piece: ActivePiece<P>): void {
    if (this.records.has(piece.index) || piece.length > MAX_BYTES) return
    while (this.records.size >= MAX_RECORDS || this.bytes + piece.length > MAX_BYTES) {
      const oldest = this.records.keys().next().value as number
      this.bytes -= this.records.get(oldest)!.buffer.length
      this.records.delete(oldest)
    }
    this.records.set(piece.index, { buffer: piece.buffer, senders: [...piece.senders] })
    this.bytes += piece.length
  }

  /** The piece verified: the peers whose earlier blocks differ from the good bytes. */
  resolve (good: ActivePiece<P>): Set<P> {
    const liars = new Set<P>()
    const rec = this.records.get(good.index)
    if (rec === undefined) return liars
    this.records.delete(good.index)
    this.bytes -= rec.buffer.length
    for (let b = 0; b < rec.senders.length; b++) {
      const sender = rec.senders[b]
      if (sender === undefined || liars.has(sender)) continue
      const from = b * BLOCK_LENGTH
      const to = Math.min(from + BLOCK_LENGTH, good.length)
      if (Buffer.compare(rec.buffer.subarray(from, to), good.buffer.subarray(from, to)) !== 0) liars.add(sender)
    }
    return liars
  }
}
