import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { messageInWords, TrackerError } from '../util/errors.js'
import { createTracker, type TrackerOptions } from './create-tracker.js'
import { PeerStream } from './peer-stream.js'
import { Tiers } from './tiers.js'
import type { AnnounceEvent, AnnounceResponse, Tracker } from './types.js'

export interface TransferStats {
  readonly uploaded: number
  readonly downloaded: number
  readonly left: number
}

export interface AnnouncerOptions extends TrackerOptions {
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
  /** The TCP port we accept peers on. */
  readonly port: number
  /** Announce-list tiers (BEP 12), as Metainfo.announce gives them. */
  readonly tiers: readonly (readonly string[])[]
  readonly getStats: () => TransferStats
  readonly numwant?: number
  /**
   * true (default): every tier announces to its first working tracker, so peers come from all
   * tiers (libtorrent's announce_to_all_tiers). false: BEP 12 strictly, tiers are fallbacks.
   */
  readonly announceToAllTiers?: boolean
  /**
   * True while the swarm has no peer at all: an answer without peers is then asked again soon
   * (5 s, doubling, never below the tracker's `min interval`), not after the full interval. A
   * client that announced before the swarm's seeders did would otherwise wait ten minutes.
   */
  readonly wantPeers?: () => boolean
  /** The first of those early re-announces (default 5 s). */
  readonly hungryReannounceMs?: number
  /** Floor under a tracker's interval, so a tracker saying `interval 0` cannot make us spin. */
  readonly minReannounceMs?: number
  /** First wait before retrying after every tracker of a tier failed; doubles up to 30 min. */
  readonly retryDelayMs?: number
  /** Upper bound on the whole of stop(), `stopped` announces included. */
  readonly stopTimeoutMs?: number
  readonly maxQueuedPeers?: number
  readonly maxSeenPeers?: number
  /** For the BEP 12 shuffle; tests pass a seeded one. */
  readonly random?: () => number
  /** Builds a Tracker per URL, or returns why it is skipped; tests inject their own. */
  readonly createTracker?: (url: string) => Tracker | string
}

/** One tracker that failed, for messages like "all trackers failed: udp://… timed out". */
export interface TrackerFailure {
  readonly url: string
  readonly error: TrackerError
}

/**
 * A failure in words a user can act on: a tracker that answered with a refusal (BEP 3 `failure
 * reason`, a UDP error packet) "refused", anything else (timeouts, bad answers) "failed". For
 * progress lines, the stall message and `seed` output.
 */
export function describeTrackerFailure (f: TrackerFailure): string {
  const message = messageInWords(f.error)
  const text = message.startsWith(`${f.url}: `) ? message.slice(f.url.length + 2) : message
  const refusal = /^(?:failure reason|tracker error): (.*)$/s.exec(text)
  return refusal !== null ? `the tracker ${f.url} refused: ${refusal[1] as string}` : `the tracker ${f.url} failed: ${text}`
}

export interface AnnounceInfo {
  readonly url: string
  readonly event: AnnounceEvent
  readonly peers: number
  readonly newPeers: number
  readonly interval: number
}

export interface AnnouncerEvents {
  announce: [info: AnnounceInfo]
  'tracker-error': [failure: TrackerFailure]
  warning: [warning: { url: string, message: string }]
  /** Every tier's latest round failed. */
  'all-failed': [failures: TrackerFailure[]]
}

/** Where the announces stand: who answered, who failed in each tier's latest round, who is being asked. */
export interface RoundSummary {
  readonly answered: string[]
  readonly failures: TrackerFailure[]
  /** Trackers with an announce in flight right now. */
  readonly pending: string[]
}

const DEFAULT_NUMWANT = 50
const DEFAULT_MIN_REANNOUNCE_MS = 60_000
/** First early re-announce while we have no peer at all (then doubling up to the interval). */
const HUNGRY_REANNOUNCE_MS = 5_000
const DEFAULT_RETRY_DELAY_MS = 60_000
const MAX_RETRY_DELAY_MS = 30 * 60_000
/**
 * Ceiling on a tracker's interval: setTimeout turns anything past 2^31 ms into 1 ms, which would
 * let a tracker saying `interval 4294967295` make us announce in a loop.
 */
const MAX_REANNOUNCE_MS = 24 * 3600_000
/** "stopped" is a courtesy: two seconds, then we leave anyway. */
const DEFAULT_STOP_TIMEOUT_MS = 2_000

interface TrackerState {
  readonly url: string
  readonly tracker: Tracker | undefined
  started: boolean
  /**
   * An announce reached it but its answer did not reach us (we gave up waiting, or stopped while
   * it was in flight): it may list us all the same, so it is told `stopped` too (BEP 3), or a
   * phantom peer stays on it for its whole peer timeout.
   */
  mayListUs: boolean
  completedSent: boolean
  trackerId?: Uint8Array
}

/** A run of tiers walked in order until one tracker answers: one per tier, or one for all. */
interface Lane {
  readonly tiers: readonly number[]
  timer: NodeJS.Timeout | undefined
  abort: AbortController | undefined
  running: Promise<void> | undefined
  rerun: boolean
  failedRounds: number
  rounds: number
  /** Failures of the round in progress, or of the last one if it found no tracker. */
  failures: TrackerFailure[]
  asking: string | undefined
  /** Answers in a row that brought no peer while the swarm had none. */
  hungry: number
}

/**
 * Keeps the swarm supplied with peers from the torrent's trackers: announces `started`, then
 * re-announces on each tracker's interval, `completed` on complete(), `stopped` on stop().
 * Peers come out of `peers` (a PeerStream), de-duplicated; failures come out as events and never
 * as throws. Call stop() when done: re-announce timers keep the process alive until then.
 */
export class Announcer extends EventEmitter<AnnouncerEvents> {
  readonly peers: PeerStream
  private readonly opts: AnnouncerOptions
  private readonly tiers: Tiers
  private readonly trackers = new Map<string, TrackerState>()
  private readonly lanes: Lane[]
  private readonly key = randomBytes(4).readUInt32BE(0)
  private readonly answered = new Set<string>()
  /** Trackers createTracker refused (ws://, bad URLs): reported once, never announced to. */
  private readonly skipped: TrackerFailure[] = []
  private completed = false
  private started = false
  private stopping: Promise<void> | undefined
  private settledWaiters: (() => void)[] = []

  constructor (opts: AnnouncerOptions) {
    super()
    this.opts = opts
    this.peers = new PeerStream({
      ...(opts.maxQueuedPeers !== undefined ? { maxQueued: opts.maxQueuedPeers } : {}),
      ...(opts.maxSeenPeers !== undefined ? { maxSeen: opts.maxSeenPeers } : {})
    })
    this.tiers = new Tiers(opts.tiers, opts.random)
    const make = opts.createTracker ?? ((url: string) => createTracker(url, opts))
    for (const url of this.tiers.all()) {
      const t = make(url)
      this.trackers.set(url, { url, tracker: typeof t === 'string' ? undefined : t, started: false, mayListUs: false, completedSent: false })
      if (typeof t === 'string') this.skipped.push({ url, error: new TrackerError(`${url}: ${t}`) })
    }
    const indexes = Array.from({ length: this.tiers.count }, (_, i) => i)
    const laneTiers = opts.announceToAllTiers === false ? [indexes] : indexes.map(i => [i])
    this.lanes = laneTiers.filter(t => t.length > 0).map(tiers => ({
      tiers, timer: undefined, abort: undefined, running: undefined, rerun: false, failedRounds: 0, rounds: 0, failures: [], asking: undefined, hungry: 0
    }))
  }

  /** Sends the first announces. Skipped trackers (ws://, bad URLs) are reported here. */
  start (): void {
    if (this.started) return
    this.started = true
    for (const f of this.skipped) this.emit('tracker-error', f)
    if (this.lanes.length === 0) {
      this.emit('all-failed', [...this.skipped])
      this.wakeSettled()
    }
    for (const lane of this.lanes) this.run(lane)
  }

  /** The download finished: tell the trackers (`completed`) now rather than at the next interval. */
  complete (): void {
    if (this.completed) return
    this.completed = true
    if (!this.started || this.stopping !== undefined) return
    for (const lane of this.lanes) {
      if (lane.running !== undefined) lane.rerun = true
      else this.run(lane)
    }
  }

  /** Resolves once every tier has had its first round (answered or failed). */
  async settled (): Promise<RoundSummary> {
    if (!this.isSettled()) await new Promise<void>(resolve => this.settledWaiters.push(resolve))
    return this.summary()
  }

  summary (): RoundSummary {
    return {
      answered: [...this.answered],
      failures: [...this.skipped, ...this.lanes.flatMap(l => l.failures)],
      pending: this.lanes.flatMap(l => l.asking === undefined ? [] : [l.asking])
    }
  }

  /**
   * Cancels pending announces, sends `stopped` to every tracker we started with (all at once,
   * bounded by stopTimeoutMs), closes sockets and ends `peers`. Never rejects.
   */
  async stop (): Promise<void> {
    this.stopping ??= this.shutdown()
    await this.stopping
  }

  private async shutdown (): Promise<void> {
    const limitMs = this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS
    const signal = AbortSignal.timeout(limitMs)
    // The deadline holds even against a Tracker that ignores its abort signal.
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, limitMs) })
    const bounded = async (work: (Promise<unknown> | undefined)[]): Promise<void> => {
      await Promise.race([Promise.allSettled(work), deadline])
    }
    for (const lane of this.lanes) {
      clearTimeout(lane.timer)
      lane.abort?.abort()
    }
    await bounded(this.lanes.map(l => l.running))
    const started = [...this.trackers.values()].filter(t => (t.started || t.mayListUs) && t.tracker !== undefined)
    await bounded(started.map(async t => {
      await t.tracker?.announce(this.request('stopped', t), signal)
    }))
    clearTimeout(timer)
    for (const t of this.trackers.values()) t.tracker?.close()
    this.peers.finish()
    this.wakeSettled()
  }

  private run (lane: Lane): void {
    if (this.stopping !== undefined) return
    clearTimeout(lane.timer)
    lane.timer = undefined
    const abort = new AbortController()
    lane.abort = abort
    const retryMs = this.opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS
    // walk() only rejects if an event listener threw: treat that round as failed, keep going.
    lane.running = this.walk(lane, abort.signal).catch(() => retryMs).then(delayMs => {
      lane.running = undefined
      lane.abort = undefined
      if (this.stopping !== undefined) return
      if (lane.rerun) {
        lane.rerun = false
        this.run(lane)
      } else {
        lane.timer = setTimeout(() => this.run(lane), delayMs)
      }
    })
  }

  /** One round of a lane (BEP 12 order); resolves to the delay before the next round. */
  private async walk (lane: Lane, signal: AbortSignal): Promise<number> {
    const failures: TrackerFailure[] = []
    lane.failures = failures
    for (const tierIndex of lane.tiers) {
      for (const url of this.tiers.tier(tierIndex)) {
        const state = this.trackers.get(url)
        if (state?.tracker === undefined) continue
        if (signal.aborted) return 0
        const event: AnnounceEvent = !state.started ? 'started' : this.completed && !state.completedSent ? 'completed' : undefined
        let res: AnnounceResponse
        try {
          lane.asking = url
          res = await state.tracker.announce(this.request(event, state), signal)
        } catch (err) {
          lane.asking = undefined
          if (unanswered(url, err, signal.aborted)) state.mayListUs = true
          if (signal.aborted) return 0
          const error = err instanceof TrackerError ? err : new TrackerError(`${url}: ${String(err)}`, { cause: err })
          failures.push({ url, error })
          this.emit('tracker-error', { url, error })
          continue
        }
        lane.asking = undefined
        this.onAnswer(state, event, res)
        this.tiers.promote(tierIndex, url)
        lane.failedRounds = 0
        lane.failures = []
        this.endRound(lane)
        const floor = this.opts.minReannounceMs ?? DEFAULT_MIN_REANNOUNCE_MS
        const regular = Math.min(Math.max(res.interval * 1000, (res.minInterval ?? 0) * 1000, floor), MAX_REANNOUNCE_MS)
        if (res.peers.length === 0 && this.opts.wantPeers?.() === true) {
          lane.hungry++
          return Math.min(regular, Math.max((res.minInterval ?? 0) * 1000, (this.opts.hungryReannounceMs ?? HUNGRY_REANNOUNCE_MS) * 2 ** (lane.hungry - 1)))
        }
        lane.hungry = 0
        return regular
      }
    }
    lane.failedRounds++
    this.endRound(lane)
    if (this.lanes.every(l => l.rounds > 0 && l.failedRounds > 0)) {
      this.emit('all-failed', this.summary().failures)
    }
    const base = this.opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS
    return Math.min(base * 2 ** (lane.failedRounds - 1), MAX_RETRY_DELAY_MS)
  }

  private onAnswer (state: TrackerState, event: AnnounceEvent, res: AnnounceResponse): void {
    state.started = true
    if (event === 'completed' || (event === 'started' && this.completed)) state.completedSent = true
    if (res.trackerId !== undefined) state.trackerId = res.trackerId
    this.answered.add(state.url)
    for (const message of res.warnings) this.emit('warning', { url: state.url, message })
    const newPeers = this.peers.offer(res.peers)
    this.emit('announce', { url: state.url, event, peers: res.peers.length, newPeers, interval: res.interval })
  }

  private endRound (lane: Lane): void {
    lane.rounds++
    if (this.isSettled()) this.wakeSettled()
  }

  private isSettled (): boolean {
    return this.stopping !== undefined || (this.started && this.lanes.every(l => l.rounds > 0))
  }

  private wakeSettled (): void {
    const waiters = this.settledWaiters
    this.settledWaiters = []
    for (const w of waiters) w()
  }

  private request (event: AnnounceEvent, state: TrackerState): Parameters<Tracker['announce']>[0] {
    const stats = this.opts.getStats()
    return {
      infoHash: this.opts.infoHash,
      peerId: this.opts.peerId,
      port: this.opts.port,
      uploaded: stats.uploaded,
      downloaded: stats.downloaded,
      left: stats.left,
      event,
      numwant: event === 'stopped' ? 0 : this.opts.numwant ?? DEFAULT_NUMWANT,
      key: this.key,
      ...(state.trackerId !== undefined ? { trackerId: state.trackerId } : {})
    }
  }
}

/**
 * An HTTP announce that timed out, broke off mid-answer or was still waiting when we stopped was
 * received, and perhaps acted on. (A UDP one that got no answer most often never got past its
 * connect, and telling a dead tracker `stopped` would hold every exit for the stop timeout; a
 * tracker that answered with a failure did not list us.)
 */
function unanswered (url: string, err: unknown, aborted: boolean): boolean {
  if (!/^https?:/i.test(url)) return false
  return aborted || (err instanceof Error && /timed out|closed mid-response/.test(err.message))
}
