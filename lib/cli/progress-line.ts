/**
 * The progress line on stderr: what arrived of the total, the rates, what we uploaded and the
 * ratio (when this mode uploads at all: stdout downloads never do), the peers connected, the ETA,
 * and a tracker's failure while it lasts. Redrawn in place on a terminal (`\r`), one line per
 * update otherwise (`--progress` into a log).
 */
import type { Writable } from 'node:stream'
import { humanSize } from '../util/format.js'

export interface ProgressSnapshot {
  /** Bytes of the total we hold (resumed from disk included). */
  readonly delivered: number
  readonly total: number
  /** Download rate, bytes/s. */
  readonly rate: number
  /** Peers connected now. */
  readonly peers: number
  /** Only for modes that upload (`-o`, `seed`): bytes sent to peers, and the rate. */
  readonly upload?: { readonly bytes: number, readonly rate: number, readonly ratio: number }
  /** Why the trackers fail, while they do (`tracker http://... refused: not authorized`). */
  readonly note?: string
}

export function formatProgress (p: ProgressSnapshot): string {
  const pct = p.total === 0 ? 100 : Math.floor(p.delivered * 100 / p.total)
  const left = p.total - p.delivered
  const eta = left <= 0 ? '0:00' : p.rate > 0 ? formatDuration(left / p.rate) : '--:--'
  const up = p.upload === undefined ? '' : `  up ${uploadText(p.upload)}`
  return `${humanSize(p.delivered)} / ${humanSize(p.total)} (${pct}%)  ${humanSize(Math.round(p.rate))}/s${up}  ${peersText(p.peers)}  ETA ${eta}${noteText(p.note)}`
}

/** The seeding phase's line: nothing left to fetch, so what we send and to how many. */
export function formatSeeding (s: { readonly upload: { readonly bytes: number, readonly rate: number, readonly ratio: number }, readonly peers: number, readonly note?: string }): string {
  return `seeding  up ${uploadText(s.upload)}  ${peersText(s.peers)}${noteText(s.note)}`
}

function uploadText (u: { readonly bytes: number, readonly rate: number, readonly ratio: number }): string {
  return `${humanSize(u.bytes)} (${humanSize(Math.round(u.rate))}/s)  ratio ${u.ratio.toFixed(2)}`
}

function peersText (n: number): string {
  return `${n} peer${n === 1 ? '' : 's'}`
}

function noteText (note: string | undefined): string {
  return note === undefined || note === '' ? '' : `  [${note}]`
}

/**
 * Upload over download, as clients show it; with nothing downloaded in this session (seeding what
 * was already on disk), over the torrent's size, as Transmission does.
 */
export function shareRatio (uploaded: number, downloaded: number, size: number): number {
  const base = downloaded > 0 ? downloaded : size
  return base > 0 ? uploaded / base : 0
}

export function formatDuration (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

export class ProgressLine {
  private width = 0
  constructor (private readonly out: Writable, private readonly tty: boolean) {}

  draw (p: ProgressSnapshot): void {
    this.drawText(formatProgress(p))
  }

  drawText (text: string): void {
    if (this.tty) {
      this.out.write('\r' + text.padEnd(this.width))
      this.width = text.length
    } else {
      this.out.write(text + '\n')
    }
  }

  /** A message of its own (`bt-stream: ...`): on a terminal it replaces the line, which the next draw brings back. */
  message (text: string): void {
    if (this.tty && this.width > 0) this.out.write('\r' + ' '.repeat(this.width) + '\r')
    this.width = 0
    this.out.write(text + '\n')
  }

  /** Leave the terminal on a fresh line. */
  done (): void {
    if (this.tty && this.width > 0) this.out.write('\n')
    this.width = 0
  }
}
