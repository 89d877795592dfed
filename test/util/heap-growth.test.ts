import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const MODULE = fileURLToPath(new URL('../../lib/util/heap-growth.js', import.meta.url))

/**
 * In a fresh node (the setting is process-wide): the young generation's committed size at the
 * start, after objects kept surviving minor GCs (a ring of arrays, each replaced after a while),
 * and after the same again once the hold was released. `hold`: holdHeapGrowth() first.
 */
function youngSizes (hold: boolean, nodeFlags: string[] = []): { start: number, held: number, after: number } {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8'
    const { holdHeapGrowth } = await import(${JSON.stringify(MODULE)})
    const young = () => getHeapSpaceStatistics().find(s => s.space_name === 'new_space').space_size
    function churn () { const ring = new Array(2000); for (let i = 0; i < 200000; i++) ring[i % 2000] = new Array(64).fill(i) }
    const start = young()
    const release = ${String(hold)} ? holdHeapGrowth() : () => {}
    churn()
    const held = young()
    release()
    churn()
    console.log(JSON.stringify({ start, held, after: young() }))`
  const out = execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })
  return JSON.parse(out) as { start: number, held: number, after: number }
}

const MiB = 1024 * 1024

test('without a hold, surviving objects make V8 grow its young generation (what the hold is for)', () => {
  const s = youngSizes(false)
  assert.ok(s.held >= 8 * MiB, `grew from ${s.start} to ${s.held} bytes`)
})

test('held, the young generation stays at its size; released, V8 grows it again as before', () => {
  const s = youngSizes(true)
  assert.ok(s.held <= 2 * s.start, `held: ${s.held} bytes (started at ${s.start})`)
  assert.ok(s.after >= 8 * MiB, `released: grew to ${s.after} bytes`)
})

test('a host that sized the young generation with node flags keeps its choice', () => {
  const s = youngSizes(true, ['--max-semi-space-size=4'])
  assert.ok(s.held > 2 * s.start, `the host's 4 MiB semi-spaces were used: ${s.held} bytes`)
})
