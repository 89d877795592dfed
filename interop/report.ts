/**
 * The interop results as markdown: one row per client, one column per cell (direction x output x
 * layout), then a numbered note per failure (its reason) and per skip reason.
 */
import { CELLS, describeCell, type Cell, type CellResult } from './harness.js'

const COLUMN: Record<string, string> = {
  'client-seeds/stdout': 'client seeds, we stream (stdout)',
  'client-seeds/dir': 'client seeds, we save (-o)',
  'we-seed/dir': 'we seed, client downloads'
}

const key = (c: Cell): string => `${c.direction}/${c.output}`

export function markdownTable (results: readonly CellResult[], versions: ReadonlyMap<string, string>): string {
  const columns = CELLS
  const header = ['client', ...columns.map(c => `${COLUMN[key(c)] ?? key(c)}, ${c.layout}`)]
  const notes: string[] = []
  const noteOf = (text: string): number => {
    const i = notes.indexOf(text)
    if (i !== -1) return i + 1
    notes.push(text)
    return notes.length
  }
  const rows: string[][] = []
  for (const client of [...new Set(results.map(r => r.client))]) {
    const row = [versions.get(client) ?? client]
    for (const c of columns) {
      const r = results.find(x => x.client === client && x.layout === c.layout && x.direction === c.direction && x.output === c.output)
      if (r === undefined) row.push('-')
      else if (r.outcome.status === 'ok') row.push(`ok ${(r.ms / 1000).toFixed(1)} s`)
      else if (r.outcome.status === 'skipped') row.push(`skipped [${noteOf(r.outcome.reason)}]`)
      else row.push(`**FAIL** [${noteOf(`${describeCell(client, r)}: ${r.outcome.reason}`)}]`)
    }
    rows.push(row)
  }
  const line = (cells: string[]): string => `| ${cells.map(c => c.replace(/\|/g, '\\|')).join(' | ')} |`
  return [
    line(header),
    line(header.map(() => '---')),
    ...rows.map(line),
    '',
    ...notes.map((n, i) => `[${i + 1}] ${n}`)
  ].join('\n')
}

/** The full log of every failed cell, for the terminal (not the README). */
export function failureDetails (results: readonly CellResult[]): string {
  return results.flatMap(r => r.outcome.status === 'fail'
    ? [`### ${describeCell(r.client, r)}\n${r.outcome.reason}\n${r.outcome.log}\n`]
    : []).join('\n')
}
