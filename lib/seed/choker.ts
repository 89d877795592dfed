/**
 * Tit-for-tat choking, as BEP 3 ("Choking and optimistic unchoking") describes it:
 *
 *   "The currently deployed choking algorithm avoids fibrillation by only changing who's choked
 *    once every ten seconds. It does reciprocation and number of uploads capping by unchoking the
 *    four peers which it has the best download rates from and are interested. [...] If a
 *    downloader has a complete file, it uses its upload rate rather than its download rate to
 *    decide who to unchoke."
 *
 *   "at any one time there is a single peer which is unchoked regardless of its upload rate (if
 *    interested, it counts as one of the four allowed downloaders.) Which peer is optimistically
 *    unchoked rotates every 30 seconds. [...] new connections are three times as likely to start
 *    as the current optimistic unchoke as anywhere else in the rotation."
 *
 * So: `slots - 1` regular slots go to the interested peers with the best rate, one to the
 * optimistic unchoke (among the other interested peers). Everything else is choked. Peers that
 * are not interested get no slot: unchoking them buys nothing and costs a choke later.
 *
 * Between rechokes nobody is choked (no fibrillation): a peer that becomes interested, or joins,
 * is unchoked at once only if a slot is free (`fill()`). Equal rates keep the peers already
 * unchoked, so a tie does not flap either.
 *
 * Pure logic: peers are views, time and randomness are injected, the timer too.
 */
export interface ChokerPeer {
  readonly interested: boolean
  /** Bytes/s we receive from the peer: the criterion while we leech. */
  readonly downloadRate: number
  /** Bytes/s we send to the peer: the criterion once we seed. */
  readonly uploadRate: number
  /** When the connection opened (ms, the choker's clock). */
  readonly connectedAt: number
  /** True while we choke the peer. */
  readonly isChoked: boolean
  unchoke (): void
  choke (): void
}

export interface ChokerTimer {
  setInterval (fn: () => void, ms: number): unknown
  clearInterval (handle: unknown): void
}

export interface ChokerOptions {
  /** Upload slots, the optimistic one included (BEP 3: four). */
  readonly slots?: number
  /** BEP 3: ten seconds. */
  readonly rechokeIntervalMs?: number
  /** The optimistic unchoke rotates every this many rechokes (BEP 3: 30 s = 3). */
  readonly optimisticEvery?: number
  /** True once we have every piece: rank by upload rate instead of download rate. */
  readonly isSeed?: () => boolean
  readonly now?: () => number
  /** [0, 1): tests pass a seeded one. */
  readonly random?: () => number
  readonly timer?: ChokerTimer
}

export const DEFAULT_SLOTS = 4
export const DEFAULT_RECHOKE_INTERVAL_MS = 10_000
export const DEFAULT_OPTIMISTIC_EVERY = 3
/** BEP 3: a new connection is "three times as likely" to be picked for the optimistic unchoke. */
const NEW_PEER_WEIGHT = 3

const realTimer: ChokerTimer = {
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms)
    t.unref()
    return t
  },
  clearInterval: (h) => { clearInterval(h as ReturnType<typeof setInterval>) }
}

export class Choker<P extends ChokerPeer = ChokerPeer> {
  private readonly _peers = new Set<P>()
  private readonly _slots: number
  private readonly _interval: number
  private readonly _optimisticEvery: number
  private readonly _isSeed: () => boolean
  private readonly _now: () => number
  private readonly _random: () => number
  private readonly _timer: ChokerTimer
  private _handle: unknown
  private _round = 0
  private _optimistic: P | undefined

  constructor (opts: ChokerOptions = {}) {
    this._slots = Math.max(1, opts.slots ?? DEFAULT_SLOTS)
    this._interval = opts.rechokeIntervalMs ?? DEFAULT_RECHOKE_INTERVAL_MS
    this._optimisticEvery = Math.max(1, opts.optimisticEvery ?? DEFAULT_OPTIMISTIC_EVERY)
    this._isSeed = opts.isSeed ?? (() => false)
    this._now = opts.now ?? Date.now
    this._random = opts.random ?? Math.random
    this._timer = opts.timer ?? realTimer
  }

  get peers (): ReadonlySet<P> { return this._peers }
  /** The current optimistic unchoke, if any. */
  get optimistic (): P | undefined { return this._optimistic }

  /** Rechoke every interval until stop(). */
  start (): void {
    if (this._handle !== undefined) return
    this._handle = this._timer.setInterval(() => { this.rechoke() }, this._interval)
  }

  stop (): void {
    if (this._handle === undefined) return
    this._timer.clearInterval(this._handle)
    this._handle = undefined
  }

  /** A new connection: it may take a free slot now; otherwise it waits for a rechoke. */
  add (peer: P): void {
    this._peers.add(peer)
    this.fill()
  }

  /** A connection closed: its slot is handed out at once. */
  remove (peer: P): void {
    if (!this._peers.delete(peer)) return
    if (this._optimistic === peer) this._optimistic = undefined
    this.fill()
  }

  /**
   * Unchokes interested peers, best first, while fewer than `slots` interested peers are
   * unchoked; chokes nobody. Call it when a peer becomes interested.
   */
  fill (): void {
    let used = 0
    for (const p of this._peers) if (!p.isChoked && p.interested) used++
    if (used >= this._slots) return
    for (const p of this._ranked()) {
      if (used >= this._slots) break
      if (p.isChoked && p.interested) { p.unchoke(); used++ }
    }
  }

  /** One rechoke round (the timer calls this; tests call it directly). */
  rechoke (): void {
    const rotate = this._round % this._optimisticEvery === 0
    this._round++
    const ranked = this._ranked().filter(p => p.interested)
    const regular = new Set(ranked.slice(0, this._slots - 1))
    let optimistic = this._optimistic
    if (optimistic !== undefined && (!this._peers.has(optimistic) || !optimistic.interested || regular.has(optimistic))) optimistic = undefined
    if (rotate || optimistic === undefined) {
      const others = ranked.filter(p => !regular.has(p))
      // Rotating means someone else gets the turn, when there is someone else.
      const fresh = others.filter(p => p !== this._optimistic)
      optimistic = this._pickOptimistic(fresh.length > 0 ? fresh : others)
    }
    this._optimistic = optimistic
    const keep = new Set(regular)
    if (optimistic !== undefined) keep.add(optimistic)
    // Choke first: a peer is never over the slot count, even for a moment.
    for (const p of this._peers) if (!keep.has(p) && !p.isChoked) p.choke()
    for (const p of keep) if (p.isChoked) p.unchoke()
  }

  /**
   * Best rate first; ties keep the peers holding a regular slot (the optimistic unchoke does not
   * count: at equal rates it would push a regular out every rotation), then the older connection.
   */
  private _ranked (): P[] {
    const seed = this._isSeed()
    const incumbent = (p: P): number => !p.isChoked && p !== this._optimistic ? 0 : 1
    return [...this._peers].sort((a, b) =>
      rate(b, seed) - rate(a, seed) ||
      incumbent(a) - incumbent(b) ||
      a.connectedAt - b.connectedAt)
  }

  private _pickOptimistic (candidates: P[]): P | undefined {
    if (candidates.length === 0) return undefined
    const now = this._now()
    const newWithin = this._interval * this._optimisticEvery
    const weights = candidates.map(p => now - p.connectedAt < newWithin ? NEW_PEER_WEIGHT : 1)
    const total = weights.reduce((a, b) => a + b, 0)
    let r = this._random() * total
    for (let i = 0; i < candidates.length; i++) {
      r -= weights[i] as number
      if (r < 0) return candidates[i]
    }
    return candidates[candidates.length - 1]
  }
}

function rate (p: ChokerPeer, seed: boolean): number {
  return seed ? p.uploadRate : p.downloadRate
}
