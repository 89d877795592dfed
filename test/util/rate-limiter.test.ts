import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RateLimiter } from '../../lib/util/rate-limiter.js'

test('token bucket: a full second of the rate at first, then the rate; a block may overdraw by itself only', () => {
  let now = 0
  const r = new RateLimiter(100_000, () => now)
  assert.equal(r.available(), 100_000, 'starts full: one second of the rate')
  assert.ok(r.take(60_000))
  assert.ok(r.take(60_000), 'not in debt yet: a whole block is taken even past zero')
  assert.equal(r.available(), -20_000)
  assert.equal(r.take(1), false, 'in debt: nothing more')
  now += 200 // 20 000 bytes at 100 000 B/s repay the debt exactly
  assert.equal(r.available(), 0)
  assert.equal(r.take(1), false, 'zero is not credit')
  now += 10_000
  assert.equal(r.available(), 100_000, 'never more than one second of the rate')
})

test('a very low rate still holds whole blocks (64 KiB of burst at the least)', () => {
  const r = new RateLimiter(1000, () => 0)
  assert.equal(r.available(), 64 * 1024)
})

test('whenAvailable calls each waiter once, after the debt is repaid; a forgotten waiter is not called', async () => {
  const r = new RateLimiter(1_000_000)
  r.take(1_000_000)
  r.take(20_000) // 20 ms of debt
  const calls: string[] = []
  r.whenAvailable(() => calls.push('a'))
  const forget = r.whenAvailable(() => calls.push('b'))
  forget()
  let availableThen = 0
  await new Promise<void>(resolve => r.whenAvailable(() => { availableThen = r.available(); calls.push('c'); resolve() }))
  assert.ok(availableThen > 0, 'not before the debt is repaid')
  assert.deepEqual(calls, ['a', 'c'])
})

test('a rate that is not a positive number is refused', () => {
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => new RateLimiter(bad), RangeError)
})
