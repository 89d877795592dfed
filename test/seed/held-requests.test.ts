import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HeldRequests } from '../../lib/seed/held-requests.js'

test('held requests: first in, first out; a duplicate start is refused; cancel takes out exactly the one asked', () => {
  const h = new HeldRequests(32768)
  assert.equal(h.push(0, 0, 16384), true)
  assert.equal(h.push(0, 16384, 16384), true)
  assert.equal(h.push(1, 0, 100), true)
  assert.equal(h.push(0, 0, 16384), false, 'the same block start again')
  assert.equal(h.size, 3)
  assert.equal(h.remove(0, 16384, 100), undefined, 'a cancel must match the length too')
  assert.equal(h.remove(0, 16384, 16384)?.begin, 16384)
  assert.equal(h.has(0, 16384), false)
  assert.deepEqual([h.shift(), h.shift(), h.shift()].map(b => b === undefined ? undefined : `${b.index}/${b.begin}`), ['0/0', '1/0', undefined])
  assert.equal(h.size, 0)
})

test('held requests: any mix of requests, cancels and shifts keeps the array within a small multiple of what is held', () => {
  const h = new HeldRequests(1 << 20)
  const span = (): number => { const x = h as unknown as { _items: unknown[], _head: number }; return x._items.length }
  let next = 0
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 100; i++) h.push(0, next + i, 1)
    // cancel 99 of them, the oldest first, then serve one
    for (let i = 0; i < 99; i++) h.remove(0, next + i, 1)
    next += 100
    if (round % 2 === 0) h.shift()
    assert.ok(span() <= 3 * h.size + 200, `round ${round}: ${span()} entries for ${h.size} held`)
  }
  assert.equal(h.size, 100)
  const all = h.clear()
  assert.equal(all.length, 100)
  assert.equal(h.size, 0)
})

test('held requests: a steady stream (push one, shift one) does not grow the array', () => {
  const h = new HeldRequests(1 << 20)
  for (let i = 0; i < 10; i++) h.push(1, i, 1)
  for (let i = 10; i < 100_000; i++) { h.push(1, i % 500_000, 1); h.shift() }
  assert.equal(h.size, 10)
  assert.ok((h as unknown as { _items: unknown[] })._items.length < 200)
})
