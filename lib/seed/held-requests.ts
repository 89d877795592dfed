import { BlockIndex } from './block-index.js'

/**
 * One peer's requests we hold but have not started to read: first in, first out, with a cancel
 * in O(1) (a map by block start), so thousands of held requests cost neither a scan per cancel
 * nor more than ~100 bytes each.
 *
 * A cancelled request stays in the array as a tombstone until it is shifted out or the array is
 * compacted (when tombstones, or the entries already shifted out, outnumber the live ones), so
 * the array stays within a small multiple of `size` whatever the peer sends.
 */
export interface HeldBlock {
  readonly index: number
  readonly begin: number
  readonly length: number
  /** Answered already (choke, cancel, connection closed): its read's result is thrown away. */
  dropped: boolean
}

/** Tombstones tolerated before compaction, beyond the live count: keeps compaction amortised O(1). */
const COMPACT_SLACK = 64

export class HeldRequests {
  private _items: HeldBlock[] = []
  private _head = 0
  private _size = 0
  /** By block start: a BlockIndex, not a Map (block-index.ts says why: full GCs). */
  private readonly _byStart = new BlockIndex<HeldBlock>()

  /** `pieceLength` turns (index, begin) into one number: the block's offset in the torrent. */
  constructor (private readonly _pieceLength: number) {}

  get size (): number { return this._size }

  /** The held request starting where `index`/`begin` does, if any. */
  has (index: number, begin: number): boolean { return this._byStart.has(this._key(index, begin)) }

  /** Holds a request; false (nothing held) when one starting at the same place is held already. */
  push (index: number, begin: number, length: number): boolean {
    const key = this._key(index, begin)
    if (this._byStart.has(key)) return false
    const b: HeldBlock = { index, begin, length, dropped: false }
    this._byStart.set(key, b)
    this._items.push(b)
    this._size++
    return true
  }

  /** The oldest live request, taken out. */
  shift (): HeldBlock | undefined {
    while (this._head < this._items.length) {
      const b = this._items[this._head++] as HeldBlock
      if (b.dropped) continue
      this._forget(b)
      this._maybeCompact()
      return b
    }
    this._items = []
    this._head = 0
    return undefined
  }

  /**
   * The request `distance` places behind the oldest, without taking it out; undefined when
   * fewer are held, or when that place holds a cancelled one (a hint is all it is for: O(1)).
   */
  peekAt (distance: number): HeldBlock | undefined {
    const b = this._items[this._head + distance]
    return b === undefined || b.dropped ? undefined : b
  }

  /** Takes out the held request equal to (index, begin, length); undefined when none is. */
  remove (index: number, begin: number, length: number): HeldBlock | undefined {
    const b = this._byStart.get(this._key(index, begin))
    if (b === undefined || b.length !== length) return undefined
    b.dropped = true
    this._forget(b)
    this._maybeCompact()
    return b
  }

  /** Takes out every held request, oldest first. */
  clear (): HeldBlock[] {
    const live: HeldBlock[] = []
    for (let i = this._head; i < this._items.length; i++) {
      const b = this._items[i] as HeldBlock
      if (!b.dropped) { b.dropped = true; live.push(b) }
    }
    this._items = []
    this._head = 0
    this._size = 0
    this._byStart.clear()
    return live
  }

  private _forget (b: HeldBlock): void {
    this._byStart.delete(this._key(b.index, b.begin))
    this._size--
  }

  /**
   * Copies the live entries to a fresh array once the consumed prefix or the tombstones outweigh
   * them: each copy is paid for by at least as many shifts or cancels, so it is amortised O(1).
   */
  private _maybeCompact (): void {
    const span = this._items.length - this._head
    const tombstones = span - this._size
    if (this._head <= span + COMPACT_SLACK && tombstones <= this._size + COMPACT_SLACK) return
    const live: HeldBlock[] = []
    for (let i = this._head; i < this._items.length; i++) {
      const b = this._items[i] as HeldBlock
      if (!b.dropped) live.push(b)
    }
    this._items = live
    this._head = 0
  }

  /** Unique per block start and exact: index × pieceLength + begin is below the torrent's size (< 2^53). */
  private _key (index: number, begin: number): number { return index * this._pieceLength + begin }
}
