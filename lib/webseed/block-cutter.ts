/**
 * A range's body bytes, in order, cut into the swarm's 16 KiB blocks (BEP 3 `piece` messages). A
 * block lying whole in a chunk is handed over as a view of it, without a copy; one split between
 * two chunks is put together in this cutter's one BLOCK_LENGTH scratch buffer. Either way the
 * bytes are valid only during `deliver`: the swarm copies each block into its piece before its
 * onMessage returns (WirePeer's contract), which lets the scratch buffer be reused at once, and
 * the caller may reuse a chunk once `feed` returns. So what a cutter holds is at most one partial
 * block.
 */
import { BLOCK_LENGTH } from '../pieces/active-piece.js'

/** One 16 KiB (or last, shorter) block the swarm asked for. */
export interface Block {
  readonly index: number
  readonly begin: number
  readonly length: number
  /** Offset in the torrent's byte stream. */
  readonly offset: number
  /** `done`: handed to the swarm; `cancelled`: the swarm took it back (or we gave it back). */
  state: 'queued' | 'running' | 'done' | 'cancelled'
}

export class BlockCutter {
  readonly blocks: readonly Block[]
  /** Index in `blocks` of the next block to fill. */
  next = 0
  private scratch: Buffer | undefined
  private filled = 0
  private readonly deliver: (b: Block, data: Uint8Array) => void

  /** `blocks`: consecutive, in order; `deliver` is called once per block, in order. */
  constructor (blocks: readonly Block[], deliver: (b: Block, data: Uint8Array) => void) {
    this.blocks = blocks
    this.deliver = deliver
  }

  /** Body bytes that follow the last ones fed; bytes past the last block are ignored. */
  feed (chunk: Uint8Array, stopped: () => boolean): void {
    let at = 0
    while (at < chunk.length && this.next < this.blocks.length && !stopped()) {
      const b = this.blocks[this.next]!
      if (this.filled === 0 && chunk.length - at >= b.length) {
        // The common case: the block lies whole in the chunk.
        this.next++
        this.deliver(b, chunk.subarray(at, at + b.length))
        at += b.length
        continue
      }
      // Allocated once per cutter, on the first split block; reused at once after each delivery.
      this.scratch ??= Buffer.allocUnsafe(BLOCK_LENGTH)
      const n = Math.min(b.length - this.filled, chunk.length - at)
      this.scratch.set(chunk.subarray(at, at + n), this.filled)
      this.filled += n
      at += n
      if (this.filled === b.length) {
        this.filled = 0
        this.next++
        this.deliver(b, this.scratch.subarray(0, b.length))
      }
    }
  }

  /** The blocks not handed over yet. */
  rest (): readonly Block[] {
    return this.blocks.slice(this.next)
  }
}
