import type { Run } from './downloaders.js'
import type { Limits } from './limits.js'

const MiB = 1024 * 1024

/** Every run of one client: the table shows their medians, and how many failed. */
export interface ClientRuns {
  readonly client: string
  readonly runs: Run[]
  readonly errors: string[]
}

/** The median of the numbers present (the mean of the middle two for an even count). */
export function median (values: ReadonlyArray<number | undefined>): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return undefined
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}

const fixed = (x: number | undefined, digits: number): string => x === undefined ? '-' : x.toFixed(digits)

/**
 * The swarm benchmark's report: per client the medians of its runs (and the range of MiB/s, so
 * the spread is visible), then the machine's limits to read them against. A client none of
 * whose runs succeeded shows FAILED and the first reason.
 */
export function formatReport (title: string, clients: readonly ClientRuns[], limits: Limits | undefined): string {
  const head = ['client', 'ok', 'MiB/s', 'min-max', 'TTFB s', 'peak RSS MiB', 'CPU s', 'seeders CPU s', 'sent/size', 'note']
  const rows = clients.map(c => {
    const ok = `${c.runs.length}/${c.runs.length + c.errors.length}`
    const failed = c.errors.length === 0 ? '' : `${c.errors.length} FAILED: ${c.errors[0]?.split('\n')[0] ?? ''}`
    if (c.runs.length === 0) return [c.client, ok, '-', '-', '-', '-', '-', '-', '-', failed]
    const rates = c.runs.map(r => r.mibps)
    const note = [c.runs[0]?.note, failed].filter(n => n !== undefined && n !== '').join('; ')
    return [
      c.client,
      ok,
      fixed(median(rates), 0),
      `${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}`,
      fixed(median(c.runs.map(r => r.ttfb)), 2),
      fixed(mapDefined(median(c.runs.map(r => r.peakRss)), b => b / MiB), 0),
      fixed(median(c.runs.map(r => r.cpuSeconds)), 2),
      fixed(median(c.runs.map(r => r.seederCpuSeconds)), 2),
      fixed(median(c.runs.map(r => r.sentRatio)), 3),
      note
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)).join('  ').trimEnd()
  const out = [title, line(head), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)]
  if (limits !== undefined) {
    const rows = [
      ['SHA-1, node crypto, 256 KiB pieces (best of 3)', limits.sha1MiBps],
      ['loopback TCP, node → node (2 processes)', limits.tcpMiBps],
      ['loopback TCP, receiving end hashes (SHA-1)', limits.tcpHashMiBps],
      ['pipe, node stdout → node consumer', limits.pipeMiBps]
    ] as const
    const w = Math.max(...rows.map(r => r[0].length))
    out.push('machine limits:')
    for (const [label, mibps] of rows) out.push(`  ${label.padEnd(w)}  ${mibps.toFixed(0).padStart(5)} MiB/s`)
  }
  return out.join('\n') + '\n'
}

function mapDefined<T, U> (x: T | undefined, f: (x: T) => U): U | undefined {
  return x === undefined ? undefined : f(x)
}
