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

test('our own address (a tracker lists us) is not a peer banned for bad data: the download waits for real peers', () => {
  const self = { known: 1, banned: 1, exhausted: true, outcomes: { ourselves: 1 } }
  assert.equal(stallError({ ...base, ...self }), undefined, 'not an instant "every peer was banned"')
  assert.equal(stallError({ ...base, ...self, idleMs: 61_000 })!.message, 'no peers found within 60 s (the trackers returned only our own address)')
  // One real peer sent bad data, and we are listed too: the real one is every peer there was.
  assert.equal(stallError({ ...base, known: 2, banned: 2, exhausted: true, outcomes: { ourselves: 1, banned: 1 } })!.message, 'every peer was banned (1) for sending bad data')
  assert.equal(stallError({ ...base, idleMs: 61_000, known: 3, banned: 1, outcomes: { ourselves: 1, refused: 2 } })!.message, 'no peer completed the handshake within 60 s: 2 peers refused the connection')
})

test('no peers found: the trackers\' failures are the reason, and the message names them', () => {
  assert.equal(stallError({ ...base, idleMs: 61_000, trackerFailures: ['the tracker http://t/announce refused: not authorized'] })!.message,
    'no peers found within 60 s; the tracker http://t/announce refused: not authorized')
})
