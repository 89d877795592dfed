/**
 * A transfer rate over a short sliding window (bytes/s), for queue sizing, the choker and the
 * progress line. Buckets of 250 ms over 5 s: smooth enough not to fibrillate, quick enough to notice
 * a peer that stalls.
 */
const BUCKET_MS = 250
const BUCKETS = 20

export class RateMeter {
  private readonly buckets = new Float64Array(BUCKETS)
  private head = 0
  private headTime: number
  private readonly start: number
  total = 0

  constructor (now: number = Date.now()) {
    this.headTime = Math.floor(now / BUCKET_MS)
    this.start = now
  }

  add (bytes: number, now: number = Date.now()): void {
    this.roll(now)
    this.buckets[this.head] = this.buckets[this.head]! + bytes
    this.total += bytes
  }

  /** Bytes per second over the window (or over the meter's life while it is younger). */
  rate (now: number = Date.now()): number {
    this.roll(now)
    let sum = 0
    for (let i = 0; i < BUCKETS; i++) sum += this.buckets[i]!
    const span = Math.min(BUCKETS * BUCKET_MS, Math.max(BUCKET_MS, now - this.start))
    return sum * 1000 / span
  }

  private roll (now: number): void {
    const t = Math.floor(now / BUCKET_MS)
    const steps = Math.min(BUCKETS, t - this.headTime)
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % BUCKETS
      this.buckets[this.head] = 0
    }
    if (t > this.headTime) this.headTime = t
  }
}
