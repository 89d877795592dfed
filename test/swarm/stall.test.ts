import { test } from 'node:test'
import assert from 'node:assert/strict'
import { stallError, type StallFacts } from '../../lib/swarm/stall.js'

const base: StallFacts = { idleMs: 0, limitMs: 60_000, connected: 0, choking: 0, known: 0, banned: 0, exhausted: false }

test('within the stall timeout a download goes on', () => {
  assert.equal(stallError({ ...base, idleMs: 59_999, known: 3 }), undefined)
})

test('every peer banned and nothing left to dial: fails at once, whatever the timeout', () => {
  assert.match(stallError({ ...base, known: 2, banned: 2, exhausted: true })!.message, /^every peer was banned \(2\) for sending bad data$/)
  assert.equal(stallError({ ...base, known: 3, banned: 2, exhausted: true }), undefined, 'one peer was not banned')
})

test('the reason after the timeout names what there was', () => {
  assert.equal(stallError({ ...base, idleMs: 61_000 })!.message, 'no peers found within 60 s')
  assert.equal(stallError({ ...base, idleMs: 61_000, known: 4, banned: 1 })!.message, 'no peer answered (4 tried, 1 banned) within 60 s')
  assert.equal(stallError({ ...base, idleMs: 61_000, connected: 3, choking: 2, known: 3 })!.message, 'no data for 60 s from 3 connected peers (2 choking us)')
})
