import assert from 'node:assert/strict'
import test from 'node:test'
import { diskBudgetBytes, followSwarm, MIN_DISK_BUDGET_BYTES } from '../../lib/session/disk-budget.js'

const MiB = 1024 * 1024
const PIECE = 256 * 1024
const CEILING = 64 * MiB

test('disk budget: a fast swarm of few peers gets little more than the floor, whatever its rate', () => {
  assert.equal(diskBudgetBytes(300 * MiB, 4, PIECE, MIN_DISK_BUDGET_BYTES, CEILING), 18 * MiB)
  assert.equal(diskBudgetBytes(300 * MiB, 1, PIECE, MIN_DISK_BUDGET_BYTES, CEILING), MIN_DISK_BUDGET_BYTES)
  assert.equal(diskBudgetBytes(0, 0, PIECE, MIN_DISK_BUDGET_BYTES, CEILING), MIN_DISK_BUDGET_BYTES, 'before any peer or rate')
})

test('disk budget: many slow peers get twice each one\'s queue and two pieces each (8 x 1 MiB/s: 36 MiB; 16 x 1 MiB/s and 50 x 256 KiB/s: the ceiling)', () => {
  assert.equal(diskBudgetBytes(8 * MiB, 8, PIECE, MIN_DISK_BUDGET_BYTES, CEILING), 36 * MiB)
  assert.equal(diskBudgetBytes(16 * MiB, 16, PIECE, MIN_DISK_BUDGET_BYTES, CEILING), CEILING)
  assert.equal(diskBudgetBytes(12.5 * MiB, 50, PIECE, MIN_DISK_BUDGET_BYTES, CEILING), CEILING)
})

test('disk budget: never above the ceiling (the engine\'s fixed budget)', () => {
  assert.equal(diskBudgetBytes(100 * MiB, 200, PIECE, MIN_DISK_BUDGET_BYTES, CEILING), CEILING)
})

test('disk budget followSwarm: with 16 MiB pieces and one peer the budget is still MIN_ACTIVE_PIECES pieces, not the byte floor\'s one', () => {
  const set: number[] = []
  const swarm = { stats: { rate: 1 * MiB, peers: 1 }, tracker: { setMaxActive: (n: number) => { set.push(n) } } }
  const stop = followSwarm(swarm, 16 * MiB, 64 * MiB, 4)
  stop()
  assert.deepEqual(set, [4])
  const small = followSwarm(swarm, PIECE, CEILING, 4)
  small()
  assert.equal(set[1], Math.ceil(diskBudgetBytes(1 * MiB, 1, PIECE, MIN_DISK_BUDGET_BYTES, CEILING) / PIECE), 'small pieces: the byte floor rules')
})
