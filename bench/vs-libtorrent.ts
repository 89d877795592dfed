import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { type GoalId, recordGoal } from './goals.js'
import type { Child } from './swarm/children.js'
import { benchDir } from './swarm/data-cache.js'
import { median } from './swarm/table.js'

/**
 * What the issue-18 rows share (bench/seed-vs-libtorrent.ts, bench/disk-download.ts): bt-stream
 * and libtorrent measured in one run, interleaved (round r starts with the other client than
 * round r-1), printed side by side as medians with the ratio bt-stream / libtorrent.
 */

export const MiB = 1024 * 1024

/** One timed transfer: throughput, and the CPU of the process the row is about. */
export interface Sample { readonly mibps: number, readonly cpuSeconds: number }

export interface Side { readonly samples: Sample[], readonly errors: string[] }

export function envInt (name: string, fallback: number): number {
  const v = process.env[name]
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${v}: a positive integer, please`)
  return n
}

/**
 * Runs `bt` and `lt` `rounds` times each, alternating which goes first, so neither always meets
 * a cold page cache or always follows the other. A failed run is kept as an error, never a number.
 */
export async function interleave (rounds: number, bt: () => Promise<Sample>, lt: () => Promise<Sample>, log: (s: string) => void): Promise<{ bt: Side, lt: Side }> {
  const out = { bt: { samples: [], errors: [] } as Side, lt: { samples: [], errors: [] } as Side }
  const one = async (name: 'bt' | 'lt', run: () => Promise<Sample>, label: string): Promise<void> => {
    try {
      const s = await run()
      out[name].samples.push(s)
      log(`${label} ${name === 'bt' ? 'bt-stream' : 'libtorrent'}: ${s.mibps.toFixed(0)} MiB/s, CPU ${s.cpuSeconds.toFixed(2)} s`)
    } catch (err) {
      out[name].errors.push((err as Error).message)
      log(`${label} ${name === 'bt' ? 'bt-stream' : 'libtorrent'} failed: ${(err as Error).message}`)
    }
  }
  for (let r = 0; r < rounds; r++) {
    const label = `run ${r + 1}/${rounds}:`
    if (r % 2 === 0) { await one('bt', bt, label); await one('lt', lt, label) } else { await one('lt', lt, label); await one('bt', bt, label) }
  }
  return out
}

const fmt = (s: Side): { rate: string, range: string, cpu: string, median?: number } => {
  if (s.samples.length === 0) return { rate: `FAILED ×${s.errors.length}`, range: '-', cpu: '-' }
  const rates = s.samples.map(x => x.mibps)
  const m = median(rates) as number
  return { rate: m.toFixed(0), range: `${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}`, cpu: (median(s.samples.map(x => x.cpuSeconds)) as number).toFixed(2), median: m }
}

/** One row: `row | bt-stream MiB/s (min-max) CPU s | libtorrent MiB/s (min-max) CPU s | ratio`. */
export function formatRow (title: string, row: string, cpuOf: string, r: { bt: Side, lt: Side }): string {
  const b = fmt(r.bt)
  const l = fmt(r.lt)
  const ratio = b.median !== undefined && l.median !== undefined ? `${(b.median / l.median).toFixed(2)}x` : '-'
  const head = ['row', 'bt-stream MiB/s', 'min-max', `CPU s (${cpuOf})`, 'libtorrent MiB/s', 'min-max', `CPU s (${cpuOf})`, 'bt/lt']
  const cells = [row, b.rate, b.range, b.cpu, l.rate, l.range, l.cpu, ratio]
  const widths = head.map((h, i) => Math.max(h.length, (cells[i] ?? '').length))
  const line = (c: string[]): string => c.map((x, i) => i === 0 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0)).join('  ')
  const lines = [title, line(head), line(widths.map(w => '-'.repeat(w))), line(cells)]
  const errors = [...r.bt.errors.map(e => `bt-stream: ${e}`), ...r.lt.errors.map(e => `libtorrent: ${e}`)]
  for (const e of errors.slice(0, 4)) lines.push(`  failed run: ${e.split('\n')[0] ?? ''}`)
  return lines.join('\n') + '\n'
}

/**
 * Records a row as an issue-18 goal (bench/goals.ts): bt-stream's median MiB/s over
 * libtorrent's, when both sides have runs. `what` says what was measured, for the goals table
 * (`512 MiB to a libtorrent leecher`); the medians and run counts are added to it.
 */
export function recordRatio (id: GoalId, r: { bt: Side, lt: Side }, what: string): void {
  const b = median(r.bt.samples.map(x => x.mibps))
  const l = median(r.lt.samples.map(x => x.mibps))
  if (b === undefined || l === undefined) return
  recordGoal(id, b / l, `${b.toFixed(0)} vs ${l.toFixed(0)} MiB/s, ${what}, ${r.bt.samples.length}+${r.lt.samples.length} runs`)
}

/**
 * A directory on a real disk for downloads that must not land in RAM: BENCH_DISK_DIR, else a
 * fresh one under BENCH_DIR (/tmp/bt-stream-bench, on the root file system here). The caller
 * removes it. Returns it with its file system type, for the table's title.
 */
export function diskScratch (): { dir: string, fs: string } {
  const base = process.env.BENCH_DISK_DIR ?? benchDir()
  const dir = mkdtempSync(join(base, 'disk-'))
  const r = spawnSync('df', ['--output=fstype,source', dir], { encoding: 'utf8' })
  const fs = r.status === 0 ? (r.stdout.trim().split('\n')[1] ?? '?').trim().replace(/\s+/g, ' on ') : '?'
  return { dir, fs }
}

/** Resolves with the first stderr line (JSON, from `--json`) that `test` accepts. */
export function stderrJson (child: Child, test: (o: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => { done(); reject(new Error(`no expected stderr line in ${timeoutMs / 1000} s\n${child.stderrTail()}`)) }, timeoutMs)
    const onData = (s: string | Buffer): void => {
      buf += s.toString()
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        let o: unknown
        try { o = JSON.parse(line) } catch { continue }
        if (typeof o === 'object' && o !== null && test(o as Record<string, unknown>)) { done(); resolve(o as Record<string, unknown>); return }
      }
    }
    const onExit = (): void => { done(); reject(new Error(`exited before the expected stderr line\n${child.stderrTail()}`)) }
    const done = (): void => { clearTimeout(timer); child.proc.stderr?.off('data', onData); child.proc.off('exit', onExit) }
    child.proc.stderr?.on('data', onData)
    child.proc.once('exit', onExit)
  })
}
