import { test } from 'node:test'
import assert from 'node:assert/strict'
import { minTopUp, QueueTime, trimExcess } from '../../lib/swarm/queue-time.js'

const MiB = 1024 * 1024

test('without a window each peer\'s queue covers 2 s of its rate (libtorrent\'s request_queue_time)', () => {
  const q = new QueueTime(undefined)
  assert.equal(q.seconds(0, 1000), 2)
  assert.equal(q.seconds(100 * MiB, 2000), 2)
})

test('with a window, what is in flight (rate x queue time) is a quarter of it, and never more than 2 s', () => {
  const q = new QueueTime(16 * MiB)
  assert.equal(q.seconds(0, 1000), 2, 'no rate yet')
  assert.equal(q.seconds(MiB, 1000), 2, '4 MiB at 1 MiB/s would be 4 s: capped')
  assert.equal(q.seconds(16 * MiB, 1000) * 16 * MiB, 4 * MiB)
  // More peers, more rate: shorter queues, the same bytes in flight.
  assert.equal(q.seconds(64 * MiB, 1100) * 64 * MiB, 4 * MiB)
})

test('a swarm whose head starves it does not deepen its queues: the best recent rate sizes them, fading with a half-life', () => {
  const q = new QueueTime(16 * MiB)
  const fast = q.seconds(16 * MiB, 10_000)
  // The window is full of pieces waiting for one late block: the measured rate halves.
  assert.ok(q.seconds(8 * MiB, 10_250) < fast * 1.1, 'a quarter second later: the queues keep their depth')
  // The swarm really is slower: after a few half-lives the queues follow it.
  let s = 0
  for (let t = 10_500; t <= 40_000; t += 250) s = q.seconds(8 * MiB, t)
  assert.ok(Math.abs(s - 2 * fast) < 1e-9, `queues follow the slower rate in the end (${s} s)`)
})

test('a queue deeper than twice its target is trimmed back to the target, by at least 8 blocks', () => {
  assert.equal(trimExcess(40, 20), 0)
  assert.equal(trimExcess(41, 20), 21)
  assert.equal(trimExcess(9, 4), 0, 'an excess of 5 blocks is not worth the cancels')
  assert.equal(trimExcess(135, 18), 117)
})

test('a very fast swarm keeps 50 ms of queue while half the window allows (a quarter would be refilled every few blocks)', () => {
  assert.equal(new QueueTime(16 * MiB).seconds(100 * MiB, 1000), 0.05, 'a quarter would be 40 ms')
  const fast = new QueueTime(16 * MiB).seconds(400 * MiB, 1000)
  assert.equal(fast * 400 * MiB, 8 * MiB, 'at 400 MiB/s: half the window in flight, 20 ms')
  assert.equal(new QueueTime(16 * MiB).seconds(16 * MiB, 1000), 0.25, 'a slow swarm is far above it')
})

test('top-ups: a deep queue (1 MiB or more) waits until half of it is free, a shallow one an eighth, and never for nothing', () => {
  assert.equal(minTopUp(128), 64, '4 loopback seeders: 64 requests a batch, not 16')
  assert.equal(minTopUp(64), 32)
  assert.equal(minTopUp(63), 7, 'below 1 MiB in flight: an eighth')
  assert.equal(minTopUp(16), 2, 'a slow swarm\'s peer is topped up almost at once')
  assert.equal(minTopUp(4), 1)
  assert.equal(minTopUp(1), 1, 'a snubbed peer\'s single request')
})
