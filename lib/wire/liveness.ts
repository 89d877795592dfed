/**
 * The two clocks of a live connection (BEP 3: "Keepalives are generally sent once every two
 * minutes"): send a keep-alive after `keepAliveInterval` without sending, and give up on the peer
 * after `idleTimeout` without receiving. One unref'd interval timer serves both, ticking at a
 * quarter of the shorter period (so a deadline fires at most 25% late, ~every 30 s by default).
 */
export interface LivenessOptions {
  readonly keepAliveInterval: number
  readonly idleTimeout: number
  /** True while *we* stopped reading (backpressure): that silence is not the peer's. */
  readonly readingPaused: () => boolean
  readonly sendKeepAlive: () => void
  readonly idle: () => void
}

export class Liveness {
  private _lastIn = Date.now()
  private _lastOut = Date.now()
  private _timer: ReturnType<typeof setInterval> | undefined
  private readonly _opts: LivenessOptions

  constructor (opts: LivenessOptions) {
    this._opts = opts
  }

  start (): void {
    if (this._timer !== undefined) return
    const { keepAliveInterval, idleTimeout } = this._opts
    this._lastIn = this._lastOut = Date.now()
    this._timer = setInterval(() => { this._tick() }, Math.max(1, Math.min(keepAliveInterval, idleTimeout) / 4))
    this._timer.unref?.()
  }

  stop (): void {
    if (this._timer !== undefined) clearInterval(this._timer)
    this._timer = undefined
  }

  received (): void { this._lastIn = Date.now() }
  sent (): void { this._lastOut = Date.now() }

  private _tick (): void {
    const now = Date.now()
    if (this._opts.readingPaused()) this._lastIn = now
    if (now - this._lastIn >= this._opts.idleTimeout) { this.stop(); this._opts.idle(); return }
    if (now - this._lastOut >= this._opts.keepAliveInterval) { this._lastOut = now; this._opts.sendKeepAlive() }
  }
}
