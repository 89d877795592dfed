/**
 * The block tracker: which 16 KiB block is requested from which peer, and what comes back.
 * It decides what a peer is asked for next (fill), takes blocks in (receive), and gives requests
 * back to the pool when a peer chokes, rejects, times out or leaves (release). Invariants and who
 * may move each state: STATE.md beside this file.
 */
import { ActivePiece, BLOCK_LENGTH, BlockState, MAX_HOLDERS, type BlockRequest } from './active-piece.js'
import { PiecePicker, type PieceSource } from './piece-picker.js'
import { copyInto } from '../util/copy-bytes.js'

export interface TrackerGeometry {
  readonly pieceLength: number
  readonly lastPieceLength: number
  readonly pieceCount: number
  /** A piece's size when not every piece but the last is whole (BEP 52 v2-only: a file's last). */
  readonly pieceLengthAt?: (index: number) => number
}

/** Why a block was not taken. */
export type BlockRefusal = 'not-active' | 'bad-offset' | 'bad-length' | 'already-have'

export type ReceiveResult<P> =
  | { readonly accepted: true, readonly piece: ActivePiece<P> | undefined, readonly cancels: readonly P[] }
  | { readonly accepted: false, readonly reason: BlockRefusal }

const NO_CANCELS: readonly never[] = Object.freeze([])
/**
 * Spares kept at most (and never more than the active budget). Pieces start and finish in bursts
 * (the output's window fills with verified pieces, then slides by many): 16 spares left a third
 * of the starts building a new piece on a 4 GiB download.
 */
const MAX_SPARES = 256
const NO_PIECES: readonly number[] = Object.freeze([])

export interface FillOptions<P = unknown> {
  /** A block one other peer has held this long (ms) may be asked of a second peer too. */
  readonly staleMs: number
  readonly now: number
  /** False while the sink is backpressured: finish started pieces, start no new one. */
  readonly startNew?: boolean
  /**
   * A holder that has delivered nothing lately (the engine's judgement): it does not count
   * toward MAX_HOLDERS, so a silent peer cannot keep a block from its second, live holder.
   */
  readonly isIdle?: (holder: P, now: number) => boolean
  /**
   * The output's head (window mode): the active pieces from the cursor to `end` (inclusive) hold
   * the bytes the output needs next. A block there that one peer holds is asked of this peer too
   * when `late(holder, ageMs)` says the holder is holding the output back; this replaces
   * `staleMs` at the head. Absent: only the cursor's piece, after `staleMs`.
   */
  readonly head?: HeadOptions<P>
}

export interface HeadOptions<P> {
  readonly end: number
  late (holder: P, ageMs: number): boolean
}

export class RequestTracker<P extends PieceSource> {
  readonly picker: PiecePicker
  private readonly geometry: TrackerGeometry
  /**
   * Active pieces by index; `order` holds them sorted by index so the output's next bytes go
   * first (the pieces themselves: a fill walks it, a Map lookup per piece per fill was most of
   * fill's time with 64 KiB pieces).
   */
  private readonly active = new Map<number, ActivePiece<P>>()
  private readonly order: Array<ActivePiece<P>> = []
  /**
   * Active pieces with a block nobody was asked for: usually the one or two newest of a window of
   * hundreds (64 KiB pieces), and a fill runs per block received. Walking `order` for them was
   * most of fill's time; `openOrder` is the same pieces sorted by index, rebuilt when they change.
   */
  private readonly open = new Set<ActivePiece<P>>()
  private openOrder: Array<ActivePiece<P>> | undefined = []
  /**
   * How many blocks of each piece each peer holds a request for. Which blocks is the piece's
   * `holders`: a Set of block numbers per peer and piece, kept beside it, said the same thing and
   * cost a Set per piece per peer plus its shrinking deletes (a 1 GiB download with 64 KiB pieces
   * allocated 168 MiB with it, 163 without).
   */
  private readonly outstanding = new Map<P, Map<ActivePiece<P>, number>>()
  private readonly counts = new Map<P, number>()
  /**
   * Pieces whose last copy failed its hash with blocks from several peers: the next copy comes
   * from one peer alone (libtorrent's "parole"), so it either verifies (and the failed copy,
   * compared with it, names the liar) or fails with one sender to blame. Without this, a fast
   * liar shares every piece with the honest peers and they fail together.
   */
  private readonly parole = new Set<number>()

  /** Verified pieces given back (`recycle`), for the next start. */
  private readonly spares: Array<ActivePiece<P>> = []
  /** Pieces in memory at most while being fetched (their buffers are allocated whole). */
  private maxActive: number

  /** Where a started piece's buffer comes from (the engine's PieceBufferPool). */
  private readonly allocate: (length: number) => Buffer

  constructor (picker: PiecePicker, geometry: TrackerGeometry, maxActivePieces = Infinity, allocate: (length: number) => Buffer = Buffer.allocUnsafe) {
    this.picker = picker
    this.geometry = geometry
    this.maxActive = Math.max(1, maxActivePieces)
    this.allocate = allocate
  }

  get activeCount (): number { return this.active.size }

  /** Lowers or raises the budget of active pieces: pieces already started stay; none starts above it. */
  setMaxActive (pieces: number): void { this.maxActive = Math.max(1, pieces) }

  /** Bytes held by pieces being downloaded (allocated buffers). */
  get activeBytes (): number {
    let n = 0
    for (const p of this.active.values()) n += p.length
    return n
  }

  outstandingCount (peer: P): number { return this.counts.get(peer) ?? 0 }

  /**
   * Up to `max` new requests for `peer`, already recorded as outstanding. In order of preference:
   * a stalled block at the head of the output or of a reader's cursor (held too long by one slow
   * peer); the readers' urgent pieces, most recent cursor first (started or not: they may start
   * beyond the budget of active pieces, which the cursors bound themselves); the rest of the
   * readers' windows (started pieces there, then new ones); unrequested blocks of other started
   * pieces, lowest index first; blocks of a newly picked piece; and in endgame (every
   * wanted piece started), a second request for a block one other peer holds.
   */
  fill (peer: P, max: number, opts: FillOptions<P>): BlockRequest[] {
    const out: BlockRequest[] = []
    if (max <= 0) return out
    const urgent = this.picker.cursorCount > 0 ? this.picker.urgent() : NO_PIECES
    this.takeStalled(peer, max, opts, out, urgent)
    for (const index of urgent) {
      if (out.length >= max) return out
      if (!peer.has(index)) continue
      let piece = this.active.get(index)
      if (piece === undefined) {
        if (opts.startNew === false) continue
        piece = this.startPiece(index)
      }
      this.takeMissing(piece, peer, max, opts.now, out)
    }
    if (this.picker.cursorCount > 0) {
      // The readers' windows next, before pieces started for no reader (rarest-first while
      // nobody read, or left half-requested by a seek's preempt).
      for (const piece of this.openPieces()) {
        if (out.length >= max) return out
        if (piece.unrequested === 0 || !peer.has(piece.index) || !this.picker.inCursorWindow(piece.index)) continue
        this.takeMissing(piece, peer, max, opts.now, out)
      }
      while (out.length < max && opts.startNew !== false && this.active.size < this.maxActive) {
        const index = this.picker.pickForCursors(peer)
        if (index === -1) break
        this.takeMissing(this.startPiece(index), peer, max, opts.now, out)
      }
    }
    for (const piece of this.openPieces()) {
      if (out.length >= max) return out
      if (piece.unrequested === 0 || !peer.has(piece.index)) continue
      this.takeMissing(piece, peer, max, opts.now, out)
    }
    while (out.length < max && opts.startNew !== false && this.active.size < this.maxActive) {
      const index = this.picker.pick(peer)
      if (index === -1) break
      this.takeMissing(this.startPiece(index), peer, max, opts.now, out)
    }
    if (out.length === 0 && this.picker.endgame) this.takeDuplicates(peer, max, opts.now, out, opts.isIdle)
    return out
  }

  /**
   * A reader seeked: the peer's queue is full of requests for pieces nobody waits for, and the
   * peer answers in order, so the urgent ones would wait behind them. Every outstanding request of
   * `peer` outside the readers' urgent pieces is released, except the `keep` oldest (probably on
   * the wire already, and their arrival tops the peer up again at once). Returns the released
   * requests: the caller sends a `cancel` for each.
   */
  preempt (peer: P, keep: number): BlockRequest[] {
    const mine = this.outstanding.get(peer)
    if (mine === undefined) return []
    const held: Array<{ piece: ActivePiece<P>, b: number }> = []
    for (const piece of mine.keys()) {
      if (this.picker.isUrgent(piece.index)) continue
      for (let b = 0; b < piece.blockCount; b++) if (piece.holdsBlock(b, peer)) held.push({ piece, b })
    }
    held.sort((x, y) => x.piece.requestedAt[x.b]! - y.piece.requestedAt[y.b]!)
    const released: BlockRequest[] = []
    for (const { piece, b } of held.slice(Math.max(0, keep))) {
      piece.removeHolder(b, peer)
      this.noteOpen(piece)
      this.forget(peer, piece)
      released.push(piece.request(b))
    }
    return released
  }

  /** Peers with requests outstanding. */
  peers (): IterableIterator<P> {
    return this.outstanding.keys()
  }

  /**
   * A block arrived. Accepted when its piece is active and the block is not yet received, whoever
   * it was asked of (BEP 3: unexpected pieces happen after a choke/unchoke); `cancels` are the other
   * peers still holding a request for it. `piece` is set when this block completed its piece:
   * the caller verifies it and calls pieceVerified or pieceFailed.
   */
  receive (peer: P, index: number, begin: number, block: Uint8Array): ReceiveResult<P> {
    const piece = this.active.get(index)
    if (piece === undefined) return { accepted: false, reason: 'not-active' }
    if (begin % BLOCK_LENGTH !== 0 || begin >= piece.length) return { accepted: false, reason: 'bad-offset' }
    const b = begin / BLOCK_LENGTH
    if (block.length !== piece.blockLength(b)) return { accepted: false, reason: 'bad-length' }
    // Its request, if it held one, was forgotten when the first copy arrived (with every holder's).
    if (piece.state[b] === BlockState.received) return { accepted: false, reason: 'already-have' }
    copyInto(piece.buffer, block, begin)
    if (piece.state[b] === BlockState.missing && --piece.unrequested === 0) this.noteOpen(piece)
    piece.state[b] = BlockState.received
    piece.senders[b] = peer
    piece.received++
    // Per block, so no allocation unless another peer also holds it (endgame, stalls).
    let cancels: readonly P[] = NO_CANCELS
    const holders = piece.holders[b]
    if (holders !== undefined) {
      for (const holder of holders) {
        this.forget(holder, piece)
        if (holder !== peer) cancels = cancels === NO_CANCELS ? [holder] : [...cancels, holder]
      }
      while (holders.length > 0) holders.pop()
    }
    return { accepted: true, piece: piece.complete ? piece : undefined, cancels }
  }

  /** The piece's hash matched: it leaves the tracker and the picker marks it done. */
  pieceVerified (piece: ActivePiece<P>): void {
    this.parole.delete(piece.index)
    this.removePiece(piece)
    this.picker.finish(piece.index)
  }

  /**
   * The piece's hash failed: its bytes are dropped and it goes back to the pool. Returns every
   * peer that sent a block of it (for strikes), with how many blocks each sent.
   */
  pieceFailed (piece: ActivePiece<P>): Map<P, number> {
    const blame = new Map<P, number>()
    for (const p of piece.senders) if (p !== undefined) blame.set(p, (blame.get(p) ?? 0) + 1)
    if (blame.size > 1) this.parole.add(piece.index)
    else this.parole.delete(piece.index)
    this.removePiece(piece)
    this.picker.reset(piece.index)
    return blame
  }

  /** The piece's bytes are gone (its hashing thread died): fetch it again, blaming nobody. */
  pieceLost (piece: ActivePiece<P>): void {
    this.removePiece(piece)
    this.picker.reset(piece.index)
  }

  /** The peer choked us or left: every request it held goes back to the pool. */
  release (peer: P): BlockRequest[] {
    const mine = this.outstanding.get(peer)
    const released: BlockRequest[] = []
    // Its exclusive pieces may go to another peer now (the blocks it sent stay).
    for (const piece of this.active.values()) if (piece.owner === peer) piece.owner = undefined
    if (mine === undefined) return released
    for (const piece of mine.keys()) {
      for (let b = 0; b < piece.blockCount; b++) {
        if (!piece.holdsBlock(b, peer)) continue
        piece.removeHolder(b, peer)
        released.push(piece.request(b))
      }
      this.noteOpen(piece)
    }
    this.outstanding.delete(peer)
    this.counts.delete(peer)
    return released
  }

  /** One request came back unanswered (BEP 6 reject, or a timeout): the block is free again. */
  releaseOne (peer: P, index: number, begin: number): boolean {
    const piece = this.active.get(index)
    if (piece === undefined || begin % BLOCK_LENGTH !== 0) return false
    const b = begin / BLOCK_LENGTH
    if (!piece.holdsBlock(b, peer)) return false
    piece.removeHolder(b, peer)
    this.noteOpen(piece)
    this.forget(peer, piece)
    return true
  }

  /** Requests `peer` has held longer than `timeoutMs`. */
  expired (peer: P, now: number, timeoutMs: number): BlockRequest[] {
    const out: BlockRequest[] = []
    const mine = this.outstanding.get(peer)
    if (mine === undefined) return out
    for (const piece of mine.keys()) {
      for (let b = 0; b < piece.blockCount; b++) {
        if (now - piece.requestedAt[b]! > timeoutMs && piece.holdsBlock(b, peer)) out.push(piece.request(b))
      }
    }
    return out
  }

  /**
   * The caller is done with a piece that left the tracker verified (its bytes handed on, its
   * senders credited): the object is kept for a later piece of as many blocks. Not for a failed
   * piece, whose senders and buffer may still be read (block blame, suspects).
   */
  recycle (piece: ActivePiece<P>): void {
    if (piece.spare || this.active.get(piece.index) === piece || this.spares.length >= Math.min(MAX_SPARES, this.maxActive)) return
    piece.retire()
    this.spares.push(piece)
  }

  /** The piece being downloaded at `index`, if it is (BEP 52 block streaming reads its blocks). */
  activePiece (index: number): ActivePiece<P> | undefined {
    return this.active.get(index)
  }

  /** Every active piece, lowest index first (for abort and for tests). */
  pieces (): ActivePiece<P>[] {
    return [...this.order]
  }

  private takeMissing (piece: ActivePiece<P>, peer: P, max: number, now: number, out: BlockRequest[]): void {
    if (!this.mayTake(piece, peer)) return
    for (let b = 0; b < piece.blockCount && out.length < max && piece.unrequested > 0; b++) {
      if (piece.state[b] !== BlockState.missing) continue
      this.hold(peer, piece, b, now)
      out.push(piece.request(b))
    }
  }

  /**
   * Head-of-line blocking: the first active piece (the output's next bytes), and each reader's
   * urgent pieces, whose blocks one slow peer has held too long.
   */
  private takeStalled (peer: P, max: number, opts: FillOptions<P>, out: BlockRequest[], urgent: readonly number[]): void {
    const head = this.order[0]?.index
    if (opts.head !== undefined) {
      for (const piece of this.order) {
        if (piece.index > opts.head.end || out.length >= max) break
        if (peer.has(piece.index)) this.takeDuplicatesOf(piece, peer, max, opts.now, 0, out, opts.isIdle, opts.head.late)
      }
    } else if (head !== undefined && head === this.picker.cursor && peer.has(head)) {
      this.takeDuplicatesOf(this.active.get(head)!, peer, max, opts.now, opts.staleMs, out, opts.isIdle)
    }
    for (const index of urgent) {
      const piece = this.active.get(index)
      if (piece === undefined || index === head || (opts.head !== undefined && index <= opts.head.end) || !peer.has(index)) continue
      this.takeDuplicatesOf(piece, peer, max, opts.now, opts.staleMs, out, opts.isIdle)
    }
  }

  /** Endgame: any block one other peer holds, whatever its age. */
  private takeDuplicates (peer: P, max: number, now: number, out: BlockRequest[], isIdle: ((holder: P, now: number) => boolean) | undefined): void {
    for (const piece of this.order) {
      if (out.length >= max) return
      if (!peer.has(piece.index)) continue
      this.takeDuplicatesOf(piece, peer, max, now, 0, out, isIdle)
    }
  }

  private takeDuplicatesOf (piece: ActivePiece<P>, peer: P, max: number, now: number, minAgeMs: number, out: BlockRequest[], isIdle: ((holder: P, now: number) => boolean) | undefined, late?: (holder: P, ageMs: number) => boolean): void {
    // A piece on parole is not shared, not even its stalled blocks: its owner's release frees it.
    if (piece.exclusive) return
    for (let b = 0; b < piece.blockCount && out.length < max; b++) {
      if (piece.state[b] !== BlockState.requested) continue
      const holders = piece.holders[b]!
      if (holders.includes(peer) || liveHolders(holders, now, isIdle) >= MAX_HOLDERS) continue
      if (now - piece.requestedAt[b]! < minAgeMs) continue
      if (late !== undefined && !late(holders[holders.length - 1]!, now - piece.requestedAt[b]!)) continue
      this.hold(peer, piece, b, now)
      out.push(piece.request(b))
    }
  }

  /** A piece on parole belongs to the first peer asked for it. */
  private mayTake (piece: ActivePiece<P>, peer: P): boolean {
    if (!piece.exclusive) return true
    piece.owner ??= peer
    return piece.owner === peer
  }

  private startPiece (index: number): ActivePiece<P> {
    this.picker.start(index)
    const length = this.geometry.pieceLengthAt?.(index) ?? (index === this.geometry.pieceCount - 1 ? this.geometry.lastPieceLength : this.geometry.pieceLength)
    const spare = this.spares.at(-1)
    let piece: ActivePiece<P>
    if (spare !== undefined && spare.blockCount === Math.ceil(length / BLOCK_LENGTH)) {
      this.spares.pop()
      spare.reuse(index, length, this.allocate(length))
      piece = spare
    } else {
      piece = new ActivePiece<P>(index, length, this.allocate(length))
    }
    piece.exclusive = this.parole.has(index)
    this.active.set(index, piece)
    let at = this.order.length
    while (at > 0 && this.order[at - 1]!.index > index) at--
    this.order.splice(at, 0, piece)
    this.noteOpen(piece)
    return piece
  }

  private removePiece (piece: ActivePiece<P>): void {
    for (let b = 0; b < piece.blockCount; b++) {
      for (const holder of piece.holders[b] ?? []) this.forget(holder, piece)
    }
    this.active.delete(piece.index)
    this.order.splice(this.order.indexOf(piece), 1)
    if (this.open.delete(piece)) this.openOrder = undefined
  }

  /** Call after `piece.unrequested` may have changed: keeps `open` in step with it. */
  private noteOpen (piece: ActivePiece<P>): void {
    if (piece.unrequested > 0) {
      if (this.open.has(piece) || !this.active.has(piece.index)) return
      this.open.add(piece)
    } else if (!this.open.delete(piece)) {
      return
    }
    this.openOrder = undefined
  }

  /** The active pieces with an unrequested block, lowest index first. */
  private openPieces (): Array<ActivePiece<P>> {
    return this.openOrder ??= [...this.open].sort((x, y) => x.index - y.index)
  }

  private hold (peer: P, piece: ActivePiece<P>, b: number, now: number): void {
    piece.addHolder(b, peer, now)
    if (piece.unrequested === 0) this.noteOpen(piece)
    let mine = this.outstanding.get(peer)
    if (mine === undefined) this.outstanding.set(peer, mine = new Map())
    mine.set(piece, (mine.get(piece) ?? 0) + 1)
    this.counts.set(peer, (this.counts.get(peer) ?? 0) + 1)
  }

  /**
   * Drop the peer's count for one block of `piece` it held a request for (the caller knows it
   * did: it found the peer among the block's holders, whose list is the caller's to update).
   */
  private forget (peer: P, piece: ActivePiece<P>): void {
    const mine = this.outstanding.get(peer)
    const n = mine?.get(piece)
    if (n === undefined) return
    if (n <= 1) mine!.delete(piece)
    else mine!.set(piece, n - 1)
    this.counts.set(peer, (this.counts.get(peer) ?? 1) - 1)
  }
}

/** Holders that still count toward MAX_HOLDERS: all of them, less those the engine calls idle. */
function liveHolders<P> (holders: readonly P[], now: number, isIdle: ((holder: P, now: number) => boolean) | undefined): number {
  if (isIdle === undefined) return holders.length
  let n = 0
  for (const h of holders) if (!isIdle(h, now)) n++
  return n
}
