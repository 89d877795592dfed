/**
 * What a long-running command tells the user on stderr while it works, in one of three forms:
 * the human progress line (with messages between redraws), `--json` (one JSON object a line, for
 * scripts: progress, peer and tracker events, a final summary), or nothing (`--quiet`, or no
 * terminal without `--progress`). Commands call the same methods whichever form is chosen.
 *
 * Tracker failures are shown once per distinct reason (a tracker refusing us every minute says so
 * once) and stay in the progress line until that tracker answers again.
 */
import { BtStreamError, messageInWords, UsageError } from '../util/errors.js'
import { describeTrackerFailure, type AnnounceInfo, type TrackerFailure } from '../tracker/announcer.js'
import { formatPeer, type PeerAddress } from '../tracker/compact.js'
import { RateMeter } from '../util/rate.js'
import type { ParsedArgs } from './args.js'
import type { CliIO } from './io.js'
import { formatSeeding, ProgressLine, shareRatio } from './progress-line.js'

/**
 * `json`: JSON lines. `line`: the progress line and messages. `messages`: messages only (no
 * terminal and no `--progress`). `quiet`: nothing but the final error.
 */
export type ReportForm = 'json' | 'line' | 'messages' | 'quiet'

/** A transfer as a command sees it at one tick. */
export interface TransferState {
  /** Bytes of the total we hold (for `-o`: resumed from disk included). */
  readonly delivered: number
  readonly total: number
  /** Download rate, bytes/s. */
  readonly rate: number
  readonly peers: number
  /** Bytes fetched from peers in this session (the ratio's base). */
  readonly downloaded: number
  /** Bytes sent to peers; undefined in modes that never upload (stdout). */
  readonly uploaded?: number
}

export interface Summary {
  readonly ok: boolean
  readonly error?: string
  readonly [key: string]: unknown
}

/** Redraws on a terminal; a line every 2 s into a log; a JSON object a second for scripts. */
const TTY_INTERVAL_MS = 250
const LOG_INTERVAL_MS = 2000
const JSON_INTERVAL_MS = 1000

/**
 * Thrown by a command after it reported its own failure (the `--json` summary carries the error):
 * main() exits with the original's code and prints nothing more, so stderr stays all JSON.
 */
export class ReportedError extends BtStreamError {
  constructor (readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original), { cause: original })
  }

  get exitCode (): number { return this.original instanceof UsageError ? 2 : 1 }
}

export class Reporter {
  readonly form: ReportForm
  /** How often a command should call progress(). */
  readonly intervalMs: number
  private readonly line: ProgressLine
  private readonly io: CliIO
  private readonly started = Date.now()
  private readonly upRate = new RateMeter()
  private lastUploaded = 0
  private lastPeers = -1
  /** Trackers failing now, by URL: the reason in words. */
  private readonly failing = new Map<string, string>()
  /** Reasons already printed, so a tracker that refuses every minute says so once. */
  private readonly told = new Set<string>()

  /**
   * `always`: a tracker failure is its own stderr line even without the progress line (`seed`,
   * which has no final error to carry it). `with-line`: only beside the progress line; a download
   * that fails names its trackers in its one error line.
   */
  private readonly trackerLines: 'always' | 'with-line'

  constructor (io: CliIO, form: ReportForm, tty: boolean, trackerLines: 'always' | 'with-line' = 'with-line') {
    this.io = io
    this.form = form
    this.trackerLines = trackerLines
    this.line = new ProgressLine(io.stderr, tty)
    this.intervalMs = form === 'json' ? JSON_INTERVAL_MS : tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS
  }

  /** True when progress() and check() show anything: worth a timer. */
  get active (): boolean { return this.form === 'json' || this.form === 'line' }

  /** The resume check or the seed check: `checking ...` with its counts. */
  check (text: string, fields: { checked: number, total: number, verified: number }): void {
    if (this.form === 'line') this.line.drawText(text)
    else if (this.form === 'json') this.json({ event: 'check', ...fields })
  }

  progress (s: TransferState): void {
    const upload = this.upload(s.uploaded, s.downloaded, s.total)
    if (this.form === 'json') {
      if (s.peers !== this.lastPeers) this.json({ event: 'peers', connected: s.peers })
      this.json({
        event: 'progress',
        bytes: s.delivered,
        total: s.total,
        rate: Math.round(s.rate),
        peers: s.peers,
        ...(upload === undefined ? {} : { uploaded: upload.bytes, uploadRate: Math.round(upload.rate), ratio: round2(upload.ratio) })
      })
    } else if (this.form === 'line') {
      this.line.draw({ delivered: s.delivered, total: s.total, rate: s.rate, peers: s.peers, upload, note: this.note() })
    }
    this.lastPeers = s.peers
  }

  /** The seeding phase: nothing left to fetch. `downloaded` is what this session fetched before. */
  seeding (s: { uploaded: number, peers: number, downloaded: number, size: number }): void {
    const upload = this.upload(s.uploaded, s.downloaded, s.size) as NonNullable<ReturnType<Reporter['upload']>>
    if (this.form === 'json') {
      if (s.peers !== this.lastPeers) this.json({ event: 'peers', connected: s.peers })
      this.json({ event: 'seeding', uploaded: upload.bytes, uploadRate: Math.round(upload.rate), ratio: round2(upload.ratio), peers: s.peers })
    } else if (this.form === 'line') {
      this.line.drawText(formatSeeding({ upload, peers: s.peers, note: this.note() }))
    }
    this.lastPeers = s.peers
  }

  trackerError (f: TrackerFailure): void {
    const words = describeTrackerFailure(f)
    this.failing.set(f.url, words)
    if (this.form === 'json') { this.json({ event: 'tracker-error', url: f.url, error: messageInWords(f.error) }); return }
    if ((this.form === 'line' || (this.form === 'messages' && this.trackerLines === 'always')) && !this.told.has(words)) {
      this.told.add(words)
      this.line.message(`bt-stream: ${words}`)
    }
  }

  announce (info: AnnounceInfo): void {
    this.failing.delete(info.url)
    if (this.form === 'json') this.json({ event: 'announce', url: info.url, peers: info.peers, newPeers: info.newPeers, interval: info.interval })
  }

  peerBanned (addr: PeerAddress, reason: string): void {
    if (this.form === 'json') this.json({ event: 'peer-banned', peer: formatPeer(addr), reason })
  }

  /**
   * A line for the user (`seeding "x" on port N`); in JSON, `fields` say the same. `always`: also
   * without the progress line (what the user must know even in a log: where we listen).
   */
  message (text: string, fields: Record<string, unknown>, always = false): void {
    if (this.form === 'line' || (this.form === 'messages' && always)) this.line.message(`bt-stream: ${text}`)
    else if (this.form === 'json') this.json(fields)
  }

  /** The last line: in JSON every command ends with one summary, success or not. */
  summary (s: Summary): void {
    if (this.form === 'json') this.json({ event: 'summary', ...s, seconds: round2((Date.now() - this.started) / 1000) })
  }

  /**
   * A failure: in JSON the summary carries it and the error is marked reported (main() prints
   * nothing more); otherwise it is returned as is for main() to print.
   */
  failed (err: unknown, fields: Record<string, unknown> = {}): unknown {
    if (this.form !== 'json') return err
    this.summary({ ok: false, error: err instanceof Error ? messageInWords(err) : String(err), ...fields })
    return new ReportedError(err)
  }

  /** Leave the terminal on a fresh line. */
  done (): void {
    if (this.form === 'line') this.line.done()
  }

  private upload (uploaded: number | undefined, downloaded: number, size: number): { bytes: number, rate: number, ratio: number } | undefined {
    if (uploaded === undefined) return undefined
    if (uploaded > this.lastUploaded) this.upRate.add(uploaded - this.lastUploaded)
    this.lastUploaded = uploaded
    return { bytes: uploaded, rate: this.upRate.rate(), ratio: shareRatio(uploaded, downloaded, size) }
  }

  private note (): string | undefined {
    if (this.failing.size === 0) return undefined
    if (this.failing.size === 1) return [...this.failing.values()][0]
    return `${this.failing.size} trackers failing`
  }

  private json (o: Record<string, unknown>): void {
    this.io.stderr.write(JSON.stringify({ ...o, time: new Date().toISOString() }) + '\n')
  }
}

function round2 (n: number): number {
  return Math.round(n * 100) / 100
}

/** `--json`: JSON lines; `--quiet`: nothing; else the line on a terminal or with `--progress`, messages always. */
export function createReporter (args: ParsedArgs, io: CliIO, trackerLines: 'always' | 'with-line' = 'with-line'): Reporter {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true
  const form: ReportForm = args.options.has('json')
    ? 'json'
    : args.options.has('quiet') ? 'quiet' : tty || args.options.has('progress') ? 'line' : 'messages'
  return new Reporter(io, form, tty, trackerLines)
}
