/**
 * How many read-ahead chunks one connection may keep alive with the blocks it has not sent yet.
 *
 * The read-ahead (read-ahead.ts) answers a block with a view into its 256 KiB chunk, not a copy:
 * a copy costs a 16 KiB ArrayBuffer per block, and V8 runs a full collection for every ~64 MiB
 * of ArrayBuffers allocated, so copies doubled a seed's full GCs (measured with --trace-gc: 13-25
 * per 512 MiB with copies, 7-11 with views). A view keeps its whole chunk alive until the socket
 * took it. A peer that reads a piece in order keeps one or two chunks alive; one that asks for
 * one block of each chunk could keep one chunk per block it has in flight (16× its bytes).
 *
 * The window bounds that: it remembers the chunk of each of the last `WINDOW` blocks written, and
 * a view of a chunk other than the last one is admitted only while fewer than
 * `MAX_CHUNKS_PINNED` chunk changes lie in the window; past that the caller copies the block. The
 * window is longer than what a connection can have in flight below the Uploader (the
 * PeerConnection's 256 KiB high-water mark, then one batch in each stream below it: ~50 blocks),
 * so every block still unsent is in it: a connection pins at most MAX_CHUNKS_PINNED + 1 chunks
 * (the changes in the window, and the chunk of the last view: 2.25 MiB), whatever it asks.
 */

/** Blocks remembered: 64 (1 MiB of 16 KiB blocks), above the ~50 a connection can hold unsent. */
export const PIN_WINDOW = 64
/** Chunks a connection may pin: 8 (2 MiB); a peer reading pieces in order needs 4 in a full window. */
export const MAX_CHUNKS_PINNED = 8

export class PinWindow {
  /** 1 where the block at that place of the ring started a chunk other than the one before it. */
  private readonly _changed = new Uint8Array(PIN_WINDOW)
  private _at = 0
  private _changes = 0
  private _last: ArrayBufferLike | undefined

  /** Chunk changes in the window: the chunks its blocks may pin, minus one. */
  get changes (): number { return this._changes }

  /**
   * Whether `block` may be sent as it is. A block that is its whole buffer pins nothing beyond
   * itself; a view of the chunk the previous view came from pins nothing more. False: send a copy.
   */
  admit (block: Uint8Array): boolean {
    const buffer = block.buffer
    if (block.byteLength === buffer.byteLength || buffer === this._last) { this._record(0); return true }
    if (this._changes >= MAX_CHUNKS_PINNED) { this._record(0); return false }
    this._last = buffer
    this._record(1)
    return true
  }

  private _record (changed: 0 | 1): void {
    this._changes += changed - (this._changed[this._at] as number)
    this._changed[this._at] = changed
    this._at = (this._at + 1) % PIN_WINDOW
  }
}

/** A copy of `block` in a buffer of its own: it keeps nothing else alive. */
export function ownCopy (block: Uint8Array): Uint8Array {
  const copy = Buffer.allocUnsafeSlow(block.byteLength)
  copy.set(block)
  return copy
}
