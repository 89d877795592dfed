import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

/**
 * In a fresh node, under the hold: the old generation's largest size while objects keep reaching
 * it and dying there (a ring of records replaced in turn, more than the young generation holds).
 * `trigger` false: V8's own rule for when to start marking put back (it starts only near its limit).
 */
function oldPeak (trigger: boolean): number {
  const script = `
    import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
    const { holdHeapGrowth } = await import(${JSON.stringify(MODULE)})
    holdHeapGrowth()
    if (!${String(trigger)}) setFlagsFromString('--incremental-marking-hard-trigger=0')
    const old = () => getHeapSpaceStatistics().find(s => s.space_name === 'old_space').space_used_size
    let peak = 0
    const ring = new Array(20000)
    for (let i = 0; i < 3000000; i++) {
      ring[i % 20000] = { a: i, b: [i, i + 1], c: 'x' + i }
      if ((i & 1023) === 0) peak = Math.max(peak, old())
    }
    console.log(String(peak))`
  // From a file: run with -e, the same loop kept its records in the young generation.
  const dir = mkdtempSync(join(tmpdir(), 'bt-heap-'))
  try {
    const file = join(dir, 'old-peak.mjs')
    writeFileSync(file, script)
    return Number(execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('held, V8 marks the old generation halfway to its limit: a lower peak between full GCs', () => {
  const held = oldPeak(true)
  const nearLimit = oldPeak(false)
  assert.ok(held < 0.85 * nearLimit, `old generation peak ${held} bytes; marking only near the limit ${nearLimit}`)
})
