import { Readable } from 'streamx'
import { formatPeer, type PeerAddress } from './compact.js'

/** A peer list is at most a few hundred entries; a thousand waiting is a consumer that stalled. */
export const DEFAULT_MAX_QUEUED_PEERS = 1000
/** Remember this many peers already handed out, so re-announces do not repeat them. */
export const DEFAULT_MAX_SEEN_PEERS = 10_000

export interface PeerStreamOptions {
  readonly maxQueued?: number
  readonly maxSeen?: number
}

/**
 * The peers a swarm consumes: a streamx Readable of PeerAddress objects, each host:port once
 * (within a bounded memory of what was already emitted). When the reader falls behind, at most
 * `maxQueued` peers wait; later ones are dropped and may come back on the next announce.
 */
export class PeerStream extends Readable {
  private readonly queue: PeerAddress[] = []
  private readonly seen = new Set<string>()
  private readonly maxQueued: number
  private readonly maxSeen: number
  private backpressured = false
  private ended = false
  private endPushed = false
  /** Peers dropped because the queue was full. */
  dropped = 0

  constructor (opts: PeerStreamOptions = {}) {
    // Each object counts as one unit against a high-water mark of 64 peers.
    super({ highWaterMark: 64, byteLength: () => 1 })
    this.maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED_PEERS
    this.maxSeen = opts.maxSeen ?? DEFAULT_MAX_SEEN_PEERS
  }

  /** Offers peers; returns how many were new and accepted. */
  offer (peers: readonly PeerAddress[]): number {
    let accepted = 0
    for (const peer of peers) {
      if (this.ended || this.destroying) break
      const key = formatPeer(peer)
      if (this.seen.has(key)) continue
      if (!this.backpressured) {
        this.backpressured = !this.push(peer)
      } else if (this.queue.length < this.maxQueued) {
        this.queue.push(peer)
      } else {
        this.dropped++
        continue
      }
      this.remember(key)
      accepted++
    }
    return accepted
  }

  /** No more peers will come (the announcer stopped). */
  finish (): void {
    if (this.ended) return
    this.ended = true
    this.pushEndIfDrained()
  }

  /** Typed iteration: `for await (const peer of stream)`. */
  override [Symbol.asyncIterator] (): AsyncIterator<PeerAddress> {
    return super[Symbol.asyncIterator]() as AsyncIterator<PeerAddress>
  }

  override _read (cb: (err: Error | null) => void): void {
    this.backpressured = false
    while (this.queue.length > 0 && !this.backpressured) {
      this.backpressured = !this.push(this.queue.shift())
    }
    this.pushEndIfDrained()
    cb(null)
  }

  private pushEndIfDrained (): void {
    if (this.ended && !this.endPushed && this.queue.length === 0) {
      this.endPushed = true
      this.push(null)
    }
  }

  private remember (key: string): void {
    this.seen.add(key)
    if (this.seen.size > this.maxSeen) {
      const oldest = this.seen.values().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
  }
}
