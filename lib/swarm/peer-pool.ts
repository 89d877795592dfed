/**
 * The peer pool: every address we have heard of (trackers, DHT, PEX, the magnet's x.pe) and what
 * became of it. It dials within a connection cap and a half-open cap, never twice to the same
 * address, retries failed ones with backoff, and never again to a banned one. A peer is its address
 * **and port**: on a loopback swarm or behind NAT many peers share one IP.
 */
import { EventEmitter } from 'node:events'
import { formatPeer, type PeerAddress } from '../tracker/compact.js'
import { classifyDialError, type PeerOutcome, type PeerOutcomes } from './peer-outcome.js'

export type { PeerAddress, PeerOutcome, PeerOutcomes }

export type PeerSource = 'tracker' | 'dht' | 'pex' | 'magnet' | 'incoming' | 'manual'

export interface PoolOptions<C> {
  /** Open connections (outgoing and incoming) at most. */
  readonly maxPeers: number
  /** Connection attempts in flight at most: a burst of dead addresses must not starve live ones. */
  readonly maxHalfOpen: number
  /** Retries after a failed or dropped connection, with `retryBaseMs * 4^n` between them. */
  readonly maxRetries: number
  readonly retryBaseMs: number
  /** The longest wait between two retries (default 5 min): with many retries 4^n would overflow a timer. */
  readonly retryMaxMs?: number
  /** Opens a connection (connect + handshake); rejects on failure or when `signal` aborts. */
  readonly dial: (addr: PeerAddress, signal: AbortSignal) => Promise<C>
}

/** Addresses remembered at most; more are dropped (a tracker or PEX flood costs nothing). */
const MAX_KNOWN = 5000

/**
 * Default cap on one retry's wait: long enough that a dead peer costs nothing, short enough for a
 * peer that comes back within a session; and below setTimeout's 2^31 ms, past which Node fires at once.
 */
const DEFAULT_RETRY_MAX_MS = 5 * 60_000

/** One key per peer: address and port, IPv6 bracketed. */
export const addressKey = formatPeer

interface Known {
  readonly addr: PeerAddress
  readonly source: PeerSource
  state: 'idle' | 'waiting' | 'dialing' | 'connected' | 'banned' | 'gone'
  failures: number
  retryAt: number
  banReason?: string
  /** How its last dial or connection ended (for "no peer answered": say how they did not). */
  last?: PeerOutcome
}

interface PoolEvents<C> {
  connection: [conn: C, addr: PeerAddress]
  'dial-error': [addr: PeerAddress, err: Error]
}

export class PeerPool<C extends { destroy (err?: Error): void }> extends EventEmitter<PoolEvents<C>> {
  private readonly opts: PoolOptions<C>
  private readonly known = new Map<string, Known>()
  private readonly queue: string[] = []
  private dialing = 0
  private connected = 0
  private readonly abort = new AbortController()
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor (opts: PoolOptions<C>) {
    super()
    this.opts = opts
  }

  get stats (): { known: number, dialing: number, connected: number, banned: number } {
    let banned = 0
    for (const k of this.known.values()) if (k.state === 'banned') banned++
    return { known: this.known.size, dialing: this.dialing, connected: this.connected, banned }
  }

  get connectedCount (): number { return this.connected }

  /**
   * Every known address not connected now, by how its last attempt ended: a dial failure
   * (refused, closed during the handshake, wrong torrent, ...), `dropped` or `left` after a
   * connection, `banned`, or `pending` (not dialed to the end yet). A peer counts once however
   * often it was retried. For the stall message (lib/swarm/stall.ts).
   */
  get outcomes (): PeerOutcomes {
    const out: Partial<Record<PeerOutcome, number>> = {}
    for (const k of this.known.values()) {
      if (k.state === 'connected') continue
      // Our own address (a tracker lists us) is banned too, but it is not a peer that sent bad data.
      const o: PeerOutcome = k.state === 'banned' ? (k.banReason === 'ourselves' ? 'ourselves' : 'banned') : k.last ?? 'pending'
      out[o] = (out[o] ?? 0) + 1
    }
    return out
  }

  /** Every address ever dialable is banned or exhausted: more can only come from new sources. */
  get exhausted (): boolean {
    if (this.dialing > 0 || this.connected > 0 || this.queue.length > 0) return false
    for (const k of this.known.values()) if (k.state === 'waiting' || k.state === 'idle') return false
    return true
  }

  add (addr: PeerAddress, source: PeerSource): void {
    if (this.closed || !validAddress(addr)) return
    const key = addressKey(addr)
    const k = this.known.get(key)
    if (k !== undefined) {
      // Heard of again from a fresh source: a peer that failed earlier may be back.
      if (k.state === 'gone' && source !== 'incoming') { k.state = 'idle'; k.failures = 0; this.enqueue(key) }
      return
    }
    if (this.known.size >= MAX_KNOWN) return
    this.known.set(key, { addr, source, state: 'idle', failures: 0, retryAt: 0 })
    this.enqueue(key)
  }

  /** An incoming connection: admitted when under the cap and not banned or already connected. */
  admit (addr: PeerAddress): boolean {
    if (this.closed || this.connected >= this.opts.maxPeers) return false
    const key = addressKey(addr)
    const k = this.known.get(key)
    if (k !== undefined && (k.state === 'banned' || k.state === 'connected' || k.state === 'dialing')) return false
    if (k === undefined) this.known.set(key, { addr, source: 'incoming', state: 'connected', failures: 0, retryAt: 0 })
    else k.state = 'connected'
    this.connected++
    return true
  }

  /** Never connect to this address again (bad data, ourselves). */
  ban (addr: PeerAddress, reason: string): void {
    const key = addressKey(addr)
    const k = this.known.get(key)
    if (k === undefined) this.known.set(key, { addr, source: 'manual', state: 'banned', failures: 0, retryAt: 0, banReason: reason })
    else {
      // A live or dialing connection keeps its state until it ends; then it stays banned.
      if (k.state !== 'connected' && k.state !== 'dialing') k.state = 'banned'
      k.banReason = reason
    }
  }

  /**
   * Nothing to gain from this peer however often we dial it (a seed, to a seed): once its
   * connection ends it is not dialed again unless a source names it afresh (`add`).
   */
  retire (addr: PeerAddress): void {
    const k = this.known.get(addressKey(addr))
    if (k !== undefined && k.banReason === undefined) k.failures = Math.max(k.failures, this.opts.maxRetries)
  }

  isBanned (addr: PeerAddress): boolean {
    return this.known.get(addressKey(addr))?.banReason !== undefined
  }

  /**
   * A connection ended. `useful` (it gave us data) resets its retry budget; otherwise it counts
   * as a failure. Banned peers, exhausted ones and incoming ones are not dialed again.
   */
  disconnected (addr: PeerAddress, useful: boolean): void {
    const k = this.known.get(addressKey(addr))
    if (k === undefined || k.state !== 'connected') return
    this.connected--
    if (k.banReason !== undefined) { k.state = 'banned'; this.pump(); return }
    // An incoming peer's address is its outgoing port: dialing it back would reach nobody.
    if (k.source === 'incoming') { this.known.delete(addressKey(addr)); this.pump(); return }
    if (useful) k.failures = 0
    else k.failures++
    k.last = useful ? 'left' : 'dropped'
    this.scheduleRetry(addressKey(addr), k)
    this.pump()
  }

  close (): void {
    this.closed = true
    this.abort.abort(new Error('peer pool closed'))
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private enqueue (key: string): void {
    const k = this.known.get(key)!
    if (k.state !== 'idle') return
    k.state = 'waiting'
    this.queue.push(key)
    this.pump()
  }

  private scheduleRetry (key: string, k: Known): void {
    if (k.failures > this.opts.maxRetries) { k.state = 'gone'; return }
    k.state = 'idle'
    k.retryAt = Date.now() + Math.min(this.opts.retryMaxMs ?? DEFAULT_RETRY_MAX_MS, this.opts.retryBaseMs * 4 ** Math.max(0, k.failures - 1))
    this.armTimer()
  }

  /** Dial queued addresses while there is room; idle ones whose retry time came are queued. */
  private pump (): void {
    if (this.closed) return
    while (this.queue.length > 0 && this.dialing < this.opts.maxHalfOpen && this.connected + this.dialing < this.opts.maxPeers) {
      const key = this.queue.shift()!
      const k = this.known.get(key)!
      if (k.state !== 'waiting') continue
      this.dialOne(key, k)
    }
  }

  private dialOne (key: string, k: Known): void {
    k.state = 'dialing'
    this.dialing++
    this.opts.dial(k.addr, this.abort.signal).then(conn => {
      this.dialing--
      if (this.closed || k.banReason !== undefined) {
        if (k.banReason !== undefined) k.state = 'banned'
        conn.destroy()
        return
      }
      k.state = 'connected'
      this.connected++
      this.emit('connection', conn, k.addr)
      this.pump()
    }, (err: unknown) => {
      this.dialing--
      if (this.closed) return
      const error = err instanceof Error ? err : new Error(String(err))
      k.last = classifyDialError(error)
      if (k.banReason !== undefined) k.state = 'banned'
      else {
        k.failures++
        this.scheduleRetry(key, k)
      }
      this.emit('dial-error', k.addr, error)
      this.pump()
    })
  }

  private armTimer (): void {
    if (this.timer !== null || this.closed) return
    let next = Infinity
    for (const k of this.known.values()) if (k.state === 'idle' && k.retryAt < next) next = k.retryAt
    if (next === Infinity) return
    this.timer = setTimeout(() => {
      this.timer = null
      const now = Date.now()
      for (const [key, k] of this.known) if (k.state === 'idle' && k.retryAt <= now) this.enqueue(key)
      this.armTimer()
    }, Math.max(0, next - Date.now()))
    this.timer.unref()
  }
}

function validAddress (addr: PeerAddress): boolean {
  return Number.isInteger(addr.port) && addr.port > 0 && addr.port < 65536 && addr.host.length > 0
}
