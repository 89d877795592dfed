import { MseError } from './errors.js'

/**
 * HandshakeReader: the bytes of a socket during the MSE handshake, read by an async state
 * machine ("wait for 96 bytes", "find this pattern within 512 bytes"). Whoever owns the socket
 * feeds it (`push`) and tells it why the socket ended (`fail`).
 *
 * Bound: it asks its owner to stop reading (`pause`) once it holds `limit` bytes, and to read
 * again (`resume`) only when a wait needs more than it holds; so a peer that floods us during the
 * handshake fills at most `limit` + one socket chunk.
 */
export interface ReaderFlow {
  pause: () => void
  resume: () => void
}

export class HandshakeReader {
  private _buf: Uint8Array = new Uint8Array(0)
  private _waiter: { need: number, resolve: () => void, reject: (err: Error) => void } | undefined
  private _failed: Error | undefined
  private _paused = false
  private readonly _flow: ReaderFlow
  private readonly _limit: number

  constructor (flow: ReaderFlow, limit: number) {
    this._flow = flow
    this._limit = limit
  }

  /** Bytes held. */
  get length (): number { return this._buf.length }

  push (chunk: Uint8Array): void {
    if (this._failed !== undefined) return
    const next = new Uint8Array(this._buf.length + chunk.length)
    next.set(this._buf)
    next.set(chunk, this._buf.length)
    this._buf = next
    if (this._buf.length >= this._limit && !this._paused) {
      this._paused = true
      this._flow.pause()
    }
    const w = this._waiter
    if (w !== undefined && this._buf.length >= w.need) {
      this._waiter = undefined
      w.resolve()
    }
  }

  /** The socket ended or errored, or the owner gave up: every wait from now on rejects with `err`. */
  fail (err: Error): void {
    if (this._failed !== undefined) return
    this._failed = err
    const w = this._waiter
    this._waiter = undefined
    w?.reject(err)
  }

  /** Resolves once `n` bytes are held. */
  need (n: number): Promise<void> {
    if (this._buf.length >= n) return Promise.resolve()
    if (this._failed !== undefined) return Promise.reject(this._failed)
    if (this._paused) {
      this._paused = false
      this._flow.resume()
    }
    return new Promise((resolve, reject) => { this._waiter = { need: n, resolve, reject } })
  }

  /** The first `n` bytes, removed (a copy: they outlive the buffer). */
  async read (n: number): Promise<Uint8Array> {
    await this.need(n)
    const out = this._buf.slice(0, n)
    this._buf = this._buf.subarray(n)
    return out
  }

  /**
   * Drops bytes up to and including the first `pattern` that starts within `maxSkip` bytes
   * (MSE: the padding the peer may put before it). Rejects with a ProtocolError naming `what`
   * once `maxSkip + pattern.length` bytes are held without it.
   */
  async skipPast (pattern: Uint8Array, maxSkip: number, what: string): Promise<void> {
    const window = maxSkip + pattern.length
    let from = 0
    for (;;) {
      const at = indexOf(this._buf, pattern, from, maxSkip)
      if (at >= 0) {
        this._buf = this._buf.subarray(at + pattern.length)
        return
      }
      if (this._buf.length >= window) throw new MseError(`MSE: no ${what} within ${maxSkip} bytes of padding`)
      // Positions already ruled out need no second look.
      from = Math.max(0, this._buf.length - pattern.length + 1)
      await this.need(Math.min(window, this._buf.length + 1))
    }
  }

  /** Everything still held (bytes that came after the handshake); the reader is empty after. */
  drain (): Uint8Array {
    const out = this._buf
    this._buf = new Uint8Array(0)
    if (this._paused) {
      this._paused = false
      this._flow.resume()
    }
    return out
  }
}

/** First index >= from and <= maxStart where `pattern` starts in `buf`, or -1. */
function indexOf (buf: Uint8Array, pattern: Uint8Array, from: number, maxStart: number): number {
  const last = Math.min(maxStart, buf.length - pattern.length)
  outer: for (let i = from; i <= last; i++) {
    for (let k = 0; k < pattern.length; k++) if (buf[i + k] !== pattern[k]) continue outer
    return i
  }
  return -1
}
