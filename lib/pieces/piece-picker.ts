/**
 * The piece picker: which piece to start next. It knows how many peers have each piece
 * (availability), which pieces we want and which are done, and the output cursor's window.
 * Block-level bookkeeping (who asked for what) lives in request-tracker.ts; the states and who
 * may change them are written down in STATE.md beside this file.
 */

/** The pieces a peer claims to have, as the picker reads them. */
export interface PieceSource {
  has (index: number): boolean
}

/** Per-piece state. Only the picker's methods move a piece between them (see STATE.md). */
export const PieceState = {
  /** Outside the selection (`--file`): never requested. */
  skip: 0,
  /** Wanted and not yet started. */
  missing: 1,
  /** Started: blocks are being requested or received (an ActivePiece exists). */
  active: 2,
  /** Verified and handed to the sink. */
  done: 3
} as const
export type PieceStateValue = typeof PieceState[keyof typeof PieceState]

export interface PickerOptions {
  pieceCount: number
  /** First and last piece (inclusive) the download wants; default the whole torrent. */
  first?: number
  last?: number
  /** Within first..last, only these (a selection of files on disk); default all of them. */
  wanted?: PieceSource
  /** Pieces already verified (resume): done from the start. */
  have?: PieceSource
  /**
   * How many pieces past the cursor may be started. Undefined: no window (disk mode), plain
   * rarest-first over everything wanted.
   */
  windowPieces?: number
  /**
   * Pieces at the head of the window taken in order before rarest-first applies, so the bytes the
   * output needs next are always asked for first.
   */
  urgentPieces?: number
}

/**
 * A reader's position (a range stream, an HTTP client): the pieces at it are urgent and the
 * pieces ahead of it are preferred. Several cursors share one picker (one engine, several
 * readers); the most recently moved one comes first, since a fresh seek is what a user waits for.
 */
export interface PieceCursor {
  /** The piece the reader needs next. */
  readonly piece: number
  /** The reader moved (it read on, or seeked): its priority becomes the highest. */
  move (piece: number): void
  /** The reader went away: its pieces are no longer urgent. Idempotent. */
  remove (): void
}

/** Pieces at a cursor taken in order before rarest-first (as `urgentPieces` for the window). */
const CURSOR_URGENT_PIECES = 2

interface CursorState {
  piece: number
  readonly windowPieces: number
  readonly urgentPieces: number
}

/**
 * Rarest-first without a window scans at most this many missing pieces from the lowest one, so a
 * pick stays cheap on torrents with 100k pieces; rarity beyond that horizon is not considered.
 */
const MAX_SCAN = 4096

export class PiecePicker {
  readonly pieceCount: number
  readonly first: number
  readonly last: number
  readonly state: Uint8Array
  /** Peers that announced each piece individually (bitfield/have). */
  private readonly availability: Uint32Array
  /** Peers that have everything (have-all or a full bitfield): counted once, not per piece. */
  private seeds = 0
  private readonly windowPieces: number | undefined
  private readonly urgentPieces: number
  /** Lowest wanted piece that is not done: where scans start. */
  private base: number
  /**
   * Lowest missing piece (`last + 1` if none): where a search for a piece to start begins. Past
   * `base` lie the pieces being fetched and the verified ones waiting for the output; with a full
   * window every pick used to walk all of them to find nothing (256 with 64 KiB pieces).
   */
  private firstMissing: number
  /**
   * The output's cursor: the window ends `windowPieces` past it. It lags `base` while verified
   * pieces wait in the sink for a slow consumer, and that lag is what stops new requests.
   */
  private anchor: number
  private remaining = 0
  /** Readers' cursors, most recently moved first (the order they are served in). */
  private readonly cursors: CursorState[] = []
  /** Wanted pieces not yet started: none left means endgame (BEP 3). */
  private notStarted = 0

  constructor (opts: PickerOptions) {
    this.pieceCount = opts.pieceCount
    this.first = opts.first ?? 0
    this.last = opts.last ?? opts.pieceCount - 1
    if (this.first < 0 || this.last >= this.pieceCount || this.first > this.last) {
      throw new RangeError(`piece selection ${this.first}..${this.last} is outside 0..${this.pieceCount - 1}`)
    }
    this.state = new Uint8Array(opts.pieceCount)
    for (let i = this.first; i <= this.last; i++) {
      if (opts.wanted !== undefined && !opts.wanted.has(i)) continue
      const done = opts.have?.has(i) === true
      this.state[i] = done ? PieceState.done : PieceState.missing
      if (!done) this.remaining++
    }
    this.notStarted = this.remaining
    this.availability = new Uint32Array(opts.pieceCount)
    this.windowPieces = opts.windowPieces === undefined ? undefined : Math.max(1, opts.windowPieces)
    this.urgentPieces = opts.urgentPieces ?? 2
    this.base = this.first
    this.anchor = this.first
    this.advanceBase()
    this.firstMissing = this.base
    this.advanceFirstMissing()
  }

  /** Pieces wanted and not yet done (active ones count as not done). */
  get piecesLeft (): number { return this.remaining }
  get complete (): boolean { return this.remaining === 0 }
  /**
   * BEP 3 endgame: every wanted piece is started or done, so only duplicate requests can speed the
   * end. A full window is not endgame: more pieces are coming once the reader catches up.
   */
  get endgame (): boolean { return this.notStarted === 0 && this.remaining > 0 }
  /** The lowest wanted piece not yet done; `last + 1` once complete. */
  get cursor (): number { return this.base }

  /**
   * Every piece of the window is done and the output has not taken them yet: nothing can start
   * until our own reader reads. Time spent so is not a stall of the swarm.
   */
  get waitingOnReader (): boolean {
    return this.windowPieces !== undefined && this.remaining > 0 && this.base > this.windowEnd()
  }

  /** The sink consumed everything before `index`: slide the window. */
  setAnchor (index: number): void {
    if (index > this.anchor) this.anchor = index
  }

  private windowEnd (): number {
    return this.windowPieces === undefined ? this.last : Math.min(this.last, this.anchor + this.windowPieces - 1)
  }

  availabilityOf (index: number): number {
    return (this.availability[index] ?? 0) + this.seeds
  }

  // --- availability: called as peers announce and leave ---

  addSeed (): void { this.seeds++ }
  removeSeed (): void { this.seeds-- }

  addHave (index: number): void {
    if (index >= 0 && index < this.pieceCount) this.availability[index]!++
  }

  addBitfield (bits: PieceSource): void {
    for (let i = 0; i < this.pieceCount; i++) if (bits.has(i)) this.availability[i]!++
  }

  removeBitfield (bits: PieceSource): void {
    for (let i = 0; i < this.pieceCount; i++) {
      if (bits.has(i) && this.availability[i]! > 0) this.availability[i]!--
    }
  }

  // --- readers' cursors ---

  /**
   * A reader at `piece`: its first `urgentPieces` pieces are taken in order before anything else,
   * then the rarest within `windowPieces` from it, before the picker's own order.
   */
  addCursor (piece: number, windowPieces: number, urgentPieces = CURSOR_URGENT_PIECES): PieceCursor {
    const state: CursorState = { piece: this.clamp(piece), windowPieces: Math.max(1, windowPieces), urgentPieces: Math.max(1, urgentPieces) }
    this.cursors.unshift(state)
    let removed = false
    return {
      get piece () { return state.piece },
      move: (to: number) => {
        if (removed) return
        const moved = this.clamp(to)
        if (moved === state.piece) return
        state.piece = moved
        this.cursors.splice(this.cursors.indexOf(state), 1)
        this.cursors.unshift(state)
      },
      remove: () => {
        if (removed) return
        removed = true
        this.cursors.splice(this.cursors.indexOf(state), 1)
      }
    }
  }

  /** Readers' cursors now open. */
  get cursorCount (): number { return this.cursors.length }

  /**
   * Is `index` among the urgent pieces of some cursor? Such a piece may start even when the
   * engine's budget of active pieces is spent (request-tracker.ts): the bound is the cursors'.
   */
  isUrgent (index: number): boolean {
    for (const c of this.cursors) if (index >= c.piece && index < c.piece + c.urgentPieces) return true
    return false
  }

  /**
   * The urgent pieces of every cursor that are not done, most recent cursor first, each cursor's
   * in order; a piece under two cursors is listed once.
   */
  urgent (): number[] {
    const out: number[] = []
    for (const c of this.cursors) {
      const end = Math.min(this.last, c.piece + c.urgentPieces - 1)
      for (let i = c.piece; i <= end; i++) {
        const s = this.state[i]
        if ((s === PieceState.missing || s === PieceState.active) && !out.includes(i)) out.push(i)
      }
    }
    return out
  }

  private clamp (piece: number): number {
    if (!Number.isInteger(piece)) throw new RangeError(`cursor at piece ${piece}`)
    return Math.min(this.last, Math.max(this.first, piece))
  }

  /** Is `index` inside some cursor's window? */
  inCursorWindow (index: number): boolean {
    for (const c of this.cursors) if (index >= c.piece && index < c.piece + c.windowPieces) return true
    return false
  }

  /**
   * The cursors' choice, or -1: urgent pieces in order, then the rarest within each window (the
   * newest cursor's first). pick() asks this first; the tracker asks it alone to serve the readers'
   * windows before the pieces it started for no reader.
   */
  pickForCursors (source: PieceSource): number {
    for (const c of this.cursors) {
      const end = Math.min(this.last, c.piece + c.urgentPieces - 1)
      for (let i = Math.max(c.piece, this.firstMissing); i <= end; i++) {
        if (this.state[i] === PieceState.missing && source.has(i)) return i
      }
    }
    for (const c of this.cursors) {
      const best = this.rarest(source, c.piece + c.urgentPieces, Math.min(this.last, c.piece + c.windowPieces - 1))
      if (best !== -1) return best
    }
    return -1
  }

  // --- state moves ---

  /**
   * The next piece to start for a peer that has `source`, or -1. First the readers' cursors
   * (pickAtCursors), then inside the window: the urgent head in order, then the rarest (ties to
   * the lowest index). Does not change state: call start() with the answer.
   */
  pick (source: PieceSource): number {
    if (this.cursors.length > 0) {
      const atCursor = this.pickForCursors(source)
      if (atCursor !== -1) return atCursor
    }
    const end = this.windowEnd()
    const urgentEnd = this.windowPieces === undefined ? this.base - 1 : Math.min(end, this.base + this.urgentPieces - 1)
    for (let i = this.firstMissing; i <= urgentEnd; i++) {
      if (this.state[i] === PieceState.missing && source.has(i)) return i
    }
    return this.rarest(source, Math.max(this.base, urgentEnd + 1), end)
  }

  /** The rarest missing piece in [from, to] the peer has (ties to the lowest index), or -1. */
  private rarest (source: PieceSource, from: number, to: number): number {
    let best = -1
    let bestAvail = Infinity
    let scanned = 0
    for (let i = Math.max(this.firstMissing, from); i <= to && scanned < MAX_SCAN; i++) {
      if (this.state[i] !== PieceState.missing) continue
      scanned++
      if (!source.has(i)) continue
      const a = this.availability[i]!
      if (a < bestAvail) {
        best = i
        bestAvail = a
        // Nothing is rarer than a piece no other partial peer has (among seeds alone every piece
        // ties: a swarm of seeds stops at the first, not after scanning the window, ~4 µs a pick
        // with 64 KiB pieces), or than one only this peer has.
        if (a === 0 || a + this.seeds <= 1) break
      }
    }
    return best
  }

  /** Is `index` inside the current window (always true without one)? */
  inWindow (index: number): boolean {
    return index >= this.base && index <= this.windowEnd()
  }

  start (index: number): void {
    this.expect(index, PieceState.missing)
    this.state[index] = PieceState.active
    this.notStarted--
    if (index === this.firstMissing) this.advanceFirstMissing()
  }

  /** A piece failed verification or lost its buffer: it goes back to the missing pool. */
  reset (index: number): void {
    this.expect(index, PieceState.active)
    this.state[index] = PieceState.missing
    this.notStarted++
    if (index < this.firstMissing) this.firstMissing = index
  }

  /** A verified piece. Moves the cursor past every done piece. */
  finish (index: number): void {
    if (this.state[index] !== PieceState.active && this.state[index] !== PieceState.missing) {
      throw new Error(`piece ${index} cannot finish from state ${this.state[index]}`)
    }
    if (this.state[index] === PieceState.missing) this.notStarted--
    this.state[index] = PieceState.done
    this.remaining--
    this.advanceBase()
    if (index === this.firstMissing) this.advanceFirstMissing()
  }

  /** Past every piece that is done or not wanted. */
  private advanceBase (): void {
    while (this.base <= this.last && (this.state[this.base] === PieceState.done || this.state[this.base] === PieceState.skip)) this.base++
  }

  /** Past every piece that is not missing (amortized: it only moves forward between resets). */
  private advanceFirstMissing (): void {
    while (this.firstMissing <= this.last && this.state[this.firstMissing] !== PieceState.missing) this.firstMissing++
  }

  isDone (index: number): boolean { return this.state[index] === PieceState.done }

  /** Does any piece the peer has interest us (wanted and not done)? */
  interestedIn (source: PieceSource): boolean {
    for (let i = this.base; i <= this.last; i++) {
      const s = this.state[i]
      if ((s === PieceState.missing || s === PieceState.active) && source.has(i)) return true
    }
    return false
  }

  private expect (index: number, state: PieceStateValue): void {
    if (this.state[index] !== state) {
      throw new Error(`piece ${index} is in state ${this.state[index]}, expected ${state}`)
    }
  }
}
