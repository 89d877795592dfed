/**
 * The progress line on stderr: done/total, rate, peers, ETA. Redrawn in place on a terminal
 * (`\r`), one line per update otherwise (`--progress` into a log).
 */
import type { Writable } from 'node:stream'
import { humanSize } from '../util/format.js'

export interface ProgressSnapshot {
  readonly delivered: number
  readonly total: number
  readonly rate: number
  readonly peers: number
}

export function formatProgress (p: ProgressSnapshot): string {
  const pct = p.total === 0 ? 100 : Math.floor(p.delivered * 100 / p.total)
  const left = p.total - p.delivered
  const eta = p.rate > 0 ? formatDuration(left / p.rate) : '--:--'
  return `${humanSize(p.delivered)} / ${humanSize(p.total)} (${pct}%)  ${humanSize(Math.round(p.rate))}/s  ${p.peers} peer${p.peers === 1 ? '' : 's'}  ETA ${eta}`
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

  /** Leave the terminal on a fresh line. */
  done (): void {
    if (this.tty && this.width > 0) this.out.write('\n')
    this.width = 0
  }
}
