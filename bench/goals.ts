/**
 * Issue 18's goals, one line each, and what this run of `npm run bench` measured for them: every
 * benchmark that measures a goal calls recordGoal() with its number (a median of interleaved
 * runs, or what the goal says), and bench/index.ts prints the table at the end (formatGoals).
 * A goal no group of this run measured says which group would (`BENCH_ONLY=...`).
 *
 * Values are plain numbers in the goal's unit: a ratio bt-stream / libtorrent (`x`), seconds,
 * or MiB. The target is a comparison; `met` is decided here, once, the same way for every bench.
 */

export type GoalId =
  | 'slow16.stdoutVsO' | 'slow16.stdoutVsLibtorrent' | 'slow16.firstByte'
  | 'slow50.stdoutVsO' | 'slow50.stdoutVsLibtorrent' | 'slow50.firstByte'
  | 'speed.4seeders' | 'speed.1seeder' | 'speed.16seeders' | 'speed.64kPieces' | 'cpu.perGiB'
  | 'memory.peak' | 'memory.flat' | 'memory.noForcedGc' | 'memory.library'
  | 'firstByte.afterUnchoke' | 'disk.vsLibtorrent' | 'seed.vsLibtorrent'

type Unit = 'x' | 's' | 'MiB' | 'count'

interface Goal {
  readonly id: GoalId
  /** The goal as the issue states it, short. */
  readonly text: string
  readonly op: '>=' | '<' | '<='
  readonly target: number
  readonly unit: Unit
  /** The BENCH_ONLY group that measures it, and how, for the line of a goal not measured. */
  readonly group: string
}

const SLOW16 = 'slow (16 seeders x 1 MiB/s)'
const SLOW50 = 'slow (SLOW_SEEDERS=50 SLOW_RATE_KIB=256)'

/** In the order. */
export const GOALS: readonly Goal[] = [
  { id: 'slow16.stdoutVsO', text: 'slow swarm 16 x 1 MiB/s: stdout / -o', op: '>=', target: 0.95, unit: 'x', group: SLOW16 },
  { id: 'slow16.stdoutVsLibtorrent', text: 'slow swarm 16 x 1 MiB/s: stdout / libtorrent', op: '>=', target: 1.2, unit: 'x', group: SLOW16 },
  { id: 'slow16.firstByte', text: 'slow swarm 16 x 1 MiB/s: first stdout byte (from start)', op: '<', target: 1, unit: 's', group: SLOW16 },
  { id: 'slow50.stdoutVsO', text: 'slow swarm 50 x 256 KiB/s: stdout / -o', op: '>=', target: 0.95, unit: 'x', group: SLOW50 },
  { id: 'slow50.stdoutVsLibtorrent', text: 'slow swarm 50 x 256 KiB/s: stdout / libtorrent', op: '>=', target: 1.2, unit: 'x', group: SLOW50 },
  { id: 'slow50.firstByte', text: 'slow swarm 50 x 256 KiB/s: first stdout byte (from start)', op: '<', target: 1, unit: 's', group: SLOW50 },
  { id: 'speed.4seeders', text: 'speed, 4 seeders, both into /dev/shm: bt-stream / libtorrent', op: '>=', target: 1.2, unit: 'x', group: 'swarm' },
  { id: 'speed.1seeder', text: 'speed, 1 seeder: bt-stream / libtorrent', op: '>=', target: 1, unit: 'x', group: 'swarm' },
  { id: 'speed.16seeders', text: 'speed, 16 seeders: bt-stream / libtorrent', op: '>=', target: 1, unit: 'x', group: 'swarm' },
  { id: 'speed.64kPieces', text: 'speed, 64 KiB pieces: bt-stream / libtorrent', op: '>=', target: 1, unit: 'x', group: 'swarm' },
  { id: 'cpu.perGiB', text: 'CPU s per GiB (4 seeders): bt-stream / libtorrent', op: '<=', target: 1, unit: 'x', group: 'swarm' },
  { id: 'memory.peak', text: 'peak RssAnon, default 16 MiB window (largest run)', op: '<', target: 64, unit: 'MiB', group: 'swarm' },
  { id: 'memory.flat', text: 'peak RssAnon flat 256 MiB..4 GiB (largest - smallest median)', op: '<=', target: 8, unit: 'MiB', group: 'swarm' },
  { id: 'memory.library', text: 'peak RssAnon of a library download() (largest run)', op: '<', target: 64, unit: 'MiB', group: 'swarm' },
  { id: 'memory.noForcedGc', text: 'no forced GC (--expose-gc / gc() in the build run)', op: '<=', target: 0, unit: 'count', group: 'swarm' },
  { id: 'firstByte.afterUnchoke', text: 'first stdout byte after the first unchoke', op: '<', target: 0.3, unit: 's', group: 'swarm' },
  { id: 'disk.vsLibtorrent', text: '-o to disk: bt-stream / libtorrent', op: '>=', target: 1, unit: 'x', group: 'disk' },
  { id: 'seed.vsLibtorrent', text: 'seeding to a libtorrent leecher: bt-stream / libtorrent seeder', op: '>=', target: 1, unit: 'x', group: 'seed' }
]

interface Measured { readonly value: number, readonly detail: string }

const measured = new Map<GoalId, Measured>()

/**
 * What a bench measured for a goal: `value` in the goal's unit (a ratio bt-stream / libtorrent,
 * seconds, MiB), `detail` the numbers behind it in a few words (`412 vs 380 MiB/s, 3 runs`).
 * A later record of the same goal replaces the earlier one.
 */
export function recordGoal (id: GoalId, value: number, detail: string): void {
  if (!GOALS.some(g => g.id === id)) throw new Error(`recordGoal: unknown goal ${id}`)
  if (!Number.isFinite(value)) throw new Error(`recordGoal(${id}): ${value} is not a number`)
  measured.set(id, { value, detail })
}

/** Forget every record (a test, or a second report in one process). */
export function clearGoals (): void {
  measured.clear()
}

const show = (v: number, unit: Unit): string =>
  unit === 'x' ? `${v.toFixed(2)}x` : unit === 's' ? `${v.toFixed(2)} s` : unit === 'MiB' ? `${v.toFixed(v < 10 ? 1 : 0)} MiB` : String(v)

const meets = (g: Goal, v: number): boolean => g.op === '>=' ? v >= g.target : g.op === '<' ? v < g.target : v <= g.target

/** The table: goal, measured, target, met (yes / NO / `-` when not measured, with who would). */
export function formatGoals (): string {
  const head = ['issue 18 goal', 'measured', 'target', 'met', 'from']
  const rows = GOALS.map(g => {
    const m = measured.get(g.id)
    const target = `${g.op === '>=' ? '>=' : g.op === '<' ? '<' : '<='} ${show(g.target, g.unit)}`
    if (m === undefined) return [g.text, '-', target, '-', `not measured in this run; measured by BENCH_ONLY=${g.group}`]
    return [g.text, show(m.value, g.unit), target, meets(g, m.value) ? 'yes' : 'NO', m.detail]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 1 || i === 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  const met = GOALS.filter(g => { const m = measured.get(g.id); return m !== undefined && meets(g, m.value) }).length
  return [
    `issue 18 goals: ${met} met of ${measured.size} measured (${GOALS.length} goals)`,
    line(head), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)
  ].join('\n') + '\n'
}
