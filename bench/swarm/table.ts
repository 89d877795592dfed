import type { Run } from './downloaders.js'
import type { Limits } from './limits.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB

/** Every run of one client: the table shows their medians, and how many failed. */
export interface ClientRuns {
  readonly client: string
  readonly runs: Run[]
  readonly errors: string[]
  /** Why the client did not run at all (python3-libtorrent missing): its row says so. */
  skipped?: string
}

/** The median of the numbers present (the mean of the middle two for an even count). */
export function median (values: ReadonlyArray<number | undefined>): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return undefined
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}

const fixed = (x: number | undefined, digits: number): string => x === undefined ? '-' : x.toFixed(digits)

/** Median and range of one number over a client's runs: `412 (380-430)`. */
function spread (runs: readonly Run[], f: (r: Run) => number | undefined, digits: number): { median?: number, text: string } {
  const v = runs.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x))
  const m = median(v)
  if (m === undefined) return { text: '-' }
  if (v.length === 1) return { median: m, text: m.toFixed(digits) }
  return { median: m, text: `${m.toFixed(digits)} (${Math.min(...v).toFixed(digits)}-${Math.max(...v).toFixed(digits)})` }
}

/** CPU seconds per GiB of the file: the run's CPU over its size. */
export const cpuPerGiB = (r: Run, size: number): number => r.cpuSeconds / (size / GiB)

export interface ClientMedians { mibps?: number, cpuPerGiB?: number, rssAnon?: number }

export function mediansOf (c: ClientRuns, size: number): ClientMedians {
  return {
    mibps: median(c.runs.map(r => r.mibps)),
    cpuPerGiB: median(c.runs.map(r => cpuPerGiB(r, size))),
    rssAnon: median(c.runs.map(r => r.peakRssAnon / MiB))
  }
}

/**
 * One swarm configuration's table: a row per client with the median and min-max of its runs
 * (MiB/s, CPU s per GiB, peak RssAnon), then bt-stream / libtorrent of the MiB/s and CPU medians
 * on each bt-stream row (`reference`: the libtorrent client's name). VmHWM is shown for the
 * record; it is not comparable (libtorrent's counts the pages of the file it maps).
 */
export function formatClients (title: string, clients: readonly ClientRuns[], size: number, reference: string | undefined): string {
  const head = ['client', 'ok', 'MiB/s (min-max)', 'CPU s/GiB (min-max)', 'RssAnon MiB (min-max)', 'VmHWM MiB', 'TTFB s', 'seeders CPU s', 'sent/size', 'MiB/s vs lt', 'CPU vs lt', 'note']
  const ref = clients.find(c => c.client === reference)
  const refM = ref === undefined ? undefined : mediansOf(ref, size)
  const rows = clients.map(c => {
    const ok = `${c.runs.length}/${c.runs.length + c.errors.length}`
    if (c.skipped !== undefined) return [c.client, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', `skipped: ${c.skipped}`]
    const failed = c.errors.length === 0 ? '' : `${c.errors.length} FAILED: ${c.errors[0]?.split('\n')[0] ?? ''}`
    if (c.runs.length === 0) return [c.client, ok, '-', '-', '-', '-', '-', '-', '-', '-', '-', failed]
    const m = mediansOf(c, size)
    const vs = (a: number | undefined, b: number | undefined): string => c === ref || a === undefined || b === undefined ? '' : `${(a / b).toFixed(2)}x`
    const note = [c.runs[0]?.note, failed].filter(n => n !== undefined && n !== '').join('; ')
    return [
      c.client,
      ok,
      spread(c.runs, r => r.mibps, 0).text,
      spread(c.runs, r => cpuPerGiB(r, size), 2).text,
      spread(c.runs, r => r.peakRssAnon / MiB, 0).text,
      fixed(median(c.runs.map(r => r.peakRss / MiB)), 0),
      fixed(median(c.runs.map(r => r.ttfb)), 2),
      fixed(median(c.runs.map(r => r.seederCpuSeconds)), 2),
      fixed(median(c.runs.map(r => r.sentRatio)), 3),
      vs(m.mibps, refM?.mibps),
      vs(m.cpuPerGiB, refM?.cpuPerGiB),
      note
    ]
  })
  return table(title, head, rows)
}

/** A plain text table: the first and last columns left-aligned, the numbers right-aligned. */
export function table (title: string, head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)).join('  ').trimEnd()
  return [title, line(head), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n'
}

/** The machine's limits measured in the same run, to read the rates against. */
export function formatLimits (limits: Limits): string {
  const rows = [
    ['SHA-1, node crypto, 256 KiB pieces (best of 3)', limits.sha1MiBps],
    ['loopback TCP, node → node (2 processes)', limits.tcpMiBps],
    ['loopback TCP, receiving end hashes (SHA-1)', limits.tcpHashMiBps],
    ['pipe, node stdout → node consumer', limits.pipeMiBps]
  ] as const
  const w = Math.max(...rows.map(r => r[0].length))
  const out = ['machine limits:']
  for (const [label, mibps] of rows) out.push(`  ${label.padEnd(w)}  ${mibps.toFixed(0).padStart(5)} MiB/s`)
  return out.join('\n') + '\n'
}
