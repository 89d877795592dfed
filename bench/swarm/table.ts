import type { Run } from './downloaders.js'
import type { Limits } from './limits.js'

const MiB = 1024 * 1024

/** The swarm benchmark's report: one table of runs, then the machine's limits to read it against. */
export function formatReport (title: string, runs: Array<Run | { client: string, error: string }>, limits: Limits | undefined): string {
  const head = ['client', 'MiB/s', 'TTFB s', 'peak RSS MiB', 'CPU s', 'seeders CPU s', 'sent/size', 'note']
  const rows = runs.map(r => 'error' in r
    ? [r.client, '-', '-', '-', '-', '-', '-', `FAILED: ${r.error.split('\n')[0] ?? ''}`]
    : [r.client, r.mibps.toFixed(0), r.ttfb === undefined ? '-' : r.ttfb.toFixed(2), (r.peakRss / MiB).toFixed(0), r.cpuSeconds.toFixed(2), r.seederCpuSeconds === undefined ? '-' : r.seederCpuSeconds.toFixed(2), r.sentRatio === undefined ? '-' : r.sentRatio.toFixed(3), r.note ?? ''])
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
