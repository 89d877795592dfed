/**
 * How many seconds of its rate each peer's request queue covers. Without a window: two
 * (libtorrent's request_queue_time), enough for a long round trip. With one, a block asked for
 * now arrives after about the queue's time, and the window slides only as fast as its head
 * piece completes, so what is in flight (the swarm's rate times the queue time) must leave most
 * of the window for pieces that wait on the head: a quarter of the window's worth of time, but
 * not under 50 ms while half the window allows it (shorter queues cost CPU in refills, see
 * MIN_WINDOW_QUEUE_SECONDS).
 *
 * The rate is the swarm's best recent one, not its current one: when the head starves the swarm
 * (the window is full of pieces waiting for one late block), the current rate falls, and queues
 * sized by it would deepen, the head would wait longer, and the rate fall further. The best
 * rate fades with a half-life, so a swarm that really slowed down gets deeper queues again.
 */
import { QUEUE_SECONDS } from './peer-session.js'

/**
 * In flight at most this share of the window: the rest holds verified pieces waiting for a late
 * head block (measured on bench/slow-swarm.ts: a half left the window full of waiting pieces
 * most of the time on 16 peers at 1 MiB/s; a quarter left it mostly empty).
 */
const IN_FLIGHT_SHARE = 1 / 4
/**
 * ...but a queue shorter than this is refilled every few blocks: on a fast loopback swarm (4
 * seeders, ~300 MiB/s, 16 MiB window) a quarter of the window is 13 ms of queue, and the extra
 * refills and request batches cost up to 10% more CPU (measured) where the main thread, not the
 * head, is the limit. So queues keep this length while what is in flight stays within half the
 * window (the rule before the quarter). Slow swarms (250 ms at 16 MiB/s) never reach it.
 */
const MIN_WINDOW_QUEUE_SECONDS = 0.05
/** ...the most of the window in flight that MIN_WINDOW_QUEUE_SECONDS may take. */
const MAX_IN_FLIGHT_SHARE = 1 / 2
/** The best rate halves in this long when the swarm stays slower (a few seconds of history). */
const PEAK_HALF_LIFE_MS = 5000
/**
 * A peer's queue deeper than this many times its target is trimmed back to the target (window
 * mode): requests sent while its rate was overestimated (a seeder's burst, a fast start) would
 * each take that many times the queue time to arrive, the head among them.
 */
export const TRIM_FACTOR = 2
/** ...and only when the excess is worth the cancels. */
const MIN_TRIM_BLOCKS = 8

export class QueueTime {
  private readonly windowBytes: number | undefined
  private peak = 0
  private peakAt = 0

  /** `windowBytes`: the memory the output's window may hold; undefined without a window (disk). */
  constructor (windowBytes: number | undefined) {
    this.windowBytes = windowBytes
  }

  /** Seconds of each peer's rate its queue should cover, given the swarm's rate now. */
  seconds (rate: number, now: number): number {
    if (this.windowBytes === undefined) return QUEUE_SECONDS
    const fade = this.peakAt === 0 ? 0 : Math.pow(0.5, Math.max(0, now - this.peakAt) / PEAK_HALF_LIFE_MS)
    this.peak = Math.max(rate, this.peak * fade)
    this.peakAt = now
    if (this.peak === 0) return QUEUE_SECONDS
    const quarter = this.windowBytes * IN_FLIGHT_SHARE / this.peak
    const floor = Math.min(MIN_WINDOW_QUEUE_SECONDS, this.windowBytes * MAX_IN_FLIGHT_SHARE / this.peak)
    return Math.min(QUEUE_SECONDS, Math.max(quarter, floor))
  }
}

/**
 * Window mode: requests to a peer that has sent no block yet. Peers unchoke within milliseconds of
 * each other, and the first one used to take 32 requests, the whole of the first two pieces: the
 * first byte then waited for 16 blocks from one peer (a second at 256 KiB/s). Four each spread the
 * first piece over the first four peers; from its first block on, a peer's queue follows its rate.
 */
export const FRESH_QUEUE = 4

/** Requests beyond `target` to release from a queue of `outstanding` (window mode), or 0. */
export function trimExcess (outstanding: number, target: number): number {
  const excess = outstanding - target
  return outstanding > TRIM_FACTOR * target && excess >= MIN_TRIM_BLOCKS ? excess : 0
}

/**
 * A peer's queue of DEEP_QUEUE blocks (1 MiB) or more is topped up once half of it is free, a
 * shallower one once an eighth is. Every top-up is a write for us and a wakeup, a read and a batch
 * of replies for the peer: on loopback with 4 libtorrent seeders (~128 blocks each) an eighth sent
 * 16 requests per batch; half of it ran 5-11% faster (medians) on 4-9% less CPU in one A/B (8
 * interleaved rounds, 7 won; machine noise is of that size). Half a deep queue still covers half
 * its time (11 ms and more on loopback, a second at 1 MiB/s without a window). Shallow queues are
 * slow peers' (a slow swarm in window mode, 4 to 16 blocks): there a batch would leave the peer
 * idle for no saving.
 */
export const DEEP_QUEUE = 64

/** The fewest requests worth a top-up of a queue whose target is `target` blocks. */
export function minTopUp (target: number): number {
  return target >= DEEP_QUEUE ? target >> 1 : Math.max(1, target >> 3)
}
