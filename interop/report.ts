/**
 * The interop results as markdown: one row per client and layout (single-file, multi-file), one
 * column per direction and output, then a numbered note per failure (its reason) and skip reason.
 */
import { describeCell, type CellResult, type Direction, type Output } from './harness.js'
import type { Layout } from './fixtures.js'

const COLUMNS: ReadonlyArray<{ direction: Direction, output: Output, title: string }> = [
  { direction: 'client-seeds', output: 'stdout', title: 'client seeds, `bt-stream x.torrent > out`' },
  { direction: 'client-seeds', output: 'dir', title: 'client seeds, `bt-stream x.torrent -o DIR`' },
  { direction: 'we-seed', output: 'dir', title: '`bt-stream seed`, client downloads' }
]
const LAYOUTS: ReadonlyArray<{ layout: Layout, title: string }> = [
  { layout: 'single', title: 'single file' },
  { layout: 'multi', title: '3 files' }
]

export function markdownTable (results: readonly CellResult[], versions: ReadonlyMap<string, string>): string {
  const notes: string[] = []
  const noteOf = (text: string): number => {
    const i = notes.indexOf(text)
    if (i !== -1) return i + 1
    notes.push(text)
    return notes.length
  }
  const rows: string[][] = []
  for (const client of [...new Set(results.map(r => r.client))]) {
    for (const { layout, title } of LAYOUTS) {
      const row = [versions.get(client) ?? client, title]
      for (const c of COLUMNS) {
        const r = results.find(x => x.client === client && x.layout === layout && x.direction === c.direction && x.output === c.output)
        if (r === undefined) row.push('-')
        else if (r.outcome.status === 'ok') row.push(`ok ${(r.ms / 1000).toFixed(1)} s`)
        else if (r.outcome.status === 'skipped') row.push(`skipped [${noteOf(r.outcome.reason)}]`)
        else row.push(`**FAIL** [${noteOf(`${describeCell(client, r)}: ${r.outcome.reason}`)}]`)
      }
      rows.push(row)
    }
  }
  const header = ['client', 'torrent', ...COLUMNS.map(c => c.title)]
  const line = (cells: string[]): string => `| ${cells.map(c => c.replace(/\|/g, '\\|')).join(' | ')} |`
  return [
    line(header),
    line(header.map(() => '---')),
    ...rows.map(line),
    ...(notes.length > 0 ? ['', ...notes.map((n, i) => `[${i + 1}] ${n}`)] : [])
  ].join('\n')
}

/** The full log of every failed cell, for the terminal (not the README). */
export function failureDetails (results: readonly CellResult[]): string {
  return results.flatMap(r => r.outcome.status === 'fail'
    ? [`### ${describeCell(r.client, r)}\n${r.outcome.reason}\n${r.outcome.log}\n`]
    : []).join('\n')
}
