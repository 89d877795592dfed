/**
 * A piece being downloaded: its buffer and the state of each 16 KiB block in it. Blocks are
 * copied into the buffer as they arrive (one copy: the socket's chunk is freed, the piece is
 * hashed and handed on whole). See STATE.md for the block states.
 */

/** BEP 3: every client asks for 16 KiB blocks and refuses larger requests. */
export const BLOCK_LENGTH = 16 * 1024

/** In endgame and for a stalled block, at most this many peers hold one block request. */
export const MAX_HOLDERS = 2

export const BlockState = { missing: 0, requested: 1, received: 2 } as const

/** A retired piece's buffer: its own went on with its bytes. */
const NO_BUFFER = Buffer.alloc(0)

export interface BlockRequest {
  readonly index: number
  readonly begin: number
  readonly length: number
}

export class ActivePiece<P> {
  /** Set again when a spare is reused for another piece of as many blocks (`reuse`). */
  index: number
  length: number
  readonly blockCount: number
  /** Replaced (same bytes) when the piece comes back from the hashing thread. */
  buffer: Buffer
  readonly state: Uint8Array
  /** When the newest request of each block was sent (ms), for stall and timeout decisions. */
  readonly requestedAt: Float64Array
  /**
   * Peers whose request for the block is outstanding: MAX_HOLDERS live ones at most (idle ones
   * may add to that). A block's list, once made, is emptied rather than dropped, so a reused piece
   * asks nothing of the allocator per request.
   */
  readonly holders: (P[] | undefined)[]
  /** Who delivered each block: strikes go to them when the hash fails. */
  readonly senders: (P | undefined)[]
  received = 0
  /** On parole (its last copy failed with several senders): only `owner` is asked for its blocks. */
  exclusive = false
  owner: P | undefined
  /** Blocks not yet requested from anyone: a fast "is there anything left here" check. */
  unrequested: number
  /** Retired: in its tracker's spares, neither active nor anyone's to use until `reuse`. */
  spare = false

  constructor (index: number, length: number, buffer: Buffer = Buffer.allocUnsafe(length)) {
    if (buffer.byteLength !== length) throw new RangeError(`piece ${index}: a ${buffer.byteLength}-byte buffer for ${length} bytes`)
    this.index = index
    this.length = length
    this.blockCount = Math.ceil(length / BLOCK_LENGTH)
    this.buffer = buffer
    this.state = new Uint8Array(this.blockCount)
    this.requestedAt = new Float64Array(this.blockCount)
    this.holders = new Array<P[] | undefined>(this.blockCount)
    this.senders = new Array<P | undefined>(this.blockCount)
    this.unrequested = this.blockCount
  }

  /**
   * Done with: the piece left its tracker verified and its caller handed its bytes on. Holds
   * nothing from now on (no buffer, holders or senders, so neither pool memory nor a departed
   * peer stays reachable through a spare) until `reuse`.
   */
  retire (): void {
    this.buffer = NO_BUFFER
    // One plain loop: the arrays' fill builtins and the Array length setter showed up at ~40 ms
    // per GiB in a profile (a micro-benchmark puts the loop under 1 µs a piece).
    for (let b = 0; b < this.blockCount; b++) {
      this.state[b] = BlockState.missing
      this.requestedAt[b] = 0
      this.senders[b] = undefined
      const list = this.holders[b]
      if (list !== undefined) while (list.length > 0) list.pop()
    }
    this.received = 0
    this.exclusive = false
    this.owner = undefined
    this.unrequested = this.blockCount
    this.spare = true
  }

  /**
   * A retired piece taken up again for another piece of as many blocks: ~0.7 KB less per piece
   * for V8 to promote (its arrays live as long as the piece) and collect.
   */
  reuse (index: number, length: number, buffer: Buffer): void {
    if (!this.spare) throw new Error(`piece ${this.index} is reused without being retired`)
    if (Math.ceil(length / BLOCK_LENGTH) !== this.blockCount || buffer.byteLength !== length) {
      throw new RangeError(`piece ${index}: ${length} bytes in a ${buffer.byteLength}-byte buffer do not fit a spare of ${this.blockCount} blocks`)
    }
    this.index = index
    this.length = length
    this.buffer = buffer
    this.spare = false
  }

  get complete (): boolean { return this.received === this.blockCount }

  blockLength (block: number): number {
    return block === this.blockCount - 1 ? this.length - block * BLOCK_LENGTH : BLOCK_LENGTH
  }

  request (block: number): BlockRequest {
    return { index: this.index, begin: block * BLOCK_LENGTH, length: this.blockLength(block) }
  }

  addHolder (block: number, peer: P, now: number): void {
    if (this.state[block] === BlockState.missing) {
      this.state[block] = BlockState.requested
      this.unrequested--
    }
    const list = this.holders[block]
    if (list === undefined) this.holders[block] = [peer]
    else list.push(peer)
    this.requestedAt[block] = now
  }

  /** Forget `peer`'s request; a block nobody holds any more is missing again. */
  removeHolder (block: number, peer: P): void {
    const list = this.holders[block]
    if (list === undefined) return
    const at = list.indexOf(peer)
    if (at === -1) return
    list.splice(at, 1)
    if (list.length === 0 && this.state[block] === BlockState.requested) {
      this.state[block] = BlockState.missing
      this.unrequested++
    }
  }

  holdsBlock (block: number, peer: P): boolean {
    return this.holders[block]?.includes(peer) ?? false
  }

  /** Peers that delivered at least one block. */
  contributors (): Set<P> {
    const set = new Set<P>()
    for (const p of this.senders) if (p !== undefined) set.add(p)
    return set
  }
}
