/**
 * A token bucket in bytes, shared by every peer of a session: `--max-download-rate` paces the
 * requests we send (a block asked for is a block that will arrive), `--max-upload-rate` paces the
 * blocks we read for peers. Blocks are never split, so the bucket may go into debt by one block;
 * while it is in debt nothing more is taken, and the debt is repaid at the rate.
 *
 * The bucket holds at most BURST_SECONDS of the rate: after an idle spell a session may send that
 * much at once, never more, which keeps the average over a few seconds at the limit.
 */
const BURST_SECONDS = 1
/** The bucket always holds room for a few blocks, so a very low rate still moves whole blocks. */
const MIN_BURST_BYTES = 64 * 1024

export class RateLimiter {
  /** Bytes per second. */
  readonly rate: number
  private readonly capacity: number
  private readonly now: () => number
  private tokens: number
  private last: number
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly waiters = new Set<() => void>()

  constructor (bytesPerSecond: number, now: () => number = Date.now) {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) throw new RangeError(`a rate limit must be a positive number of bytes per second, got ${bytesPerSecond}`)
    this.rate = bytesPerSecond
    this.capacity = Math.max(MIN_BURST_BYTES, bytesPerSecond * BURST_SECONDS)
    this.now = now
    this.tokens = this.capacity
    this.last = now()
  }

  /** Bytes that may be taken now (negative while in debt). */
  available (): number {
    const t = this.now()
    const elapsed = t - this.last
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.rate / 1000)
      this.last = t
    }
    return this.tokens
  }

  /** Takes `bytes` if the bucket is not in debt (it may go into debt by this much); false otherwise. */
  take (bytes: number): boolean {
    if (this.available() <= 0) return false
    this.tokens -= bytes
    return true
  }

  /**
   * Calls `fn` once, when the bucket is out of debt. One timer for all waiters; returns a
   * function that forgets `fn` (a closed peer).
   */
  whenAvailable (fn: () => void): () => void {
    this.waiters.add(fn)
    this.schedule()
    return () => { this.waiters.delete(fn) }
  }

  private schedule (): void {
    if (this.timer !== undefined || this.waiters.size === 0) return
    const debt = -this.available()
    const ms = debt <= 0 ? 0 : Math.ceil(debt * 1000 / this.rate) + 1
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.available() <= 0) { this.schedule(); return }
      const ready = [...this.waiters]
      this.waiters.clear()
      for (const fn of ready) fn()
    }, ms)
    // Waiters are peers that keep the process alive by their sockets, not by this timer.
    this.timer.unref?.()
  }
}
