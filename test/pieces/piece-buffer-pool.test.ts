import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PieceBufferPool } from '../../lib/pieces/piece-buffer-pool.js'

test('a buffer given back is the next piece\'s memory; a fresh one is allocated only when none waits', () => {
  const pool = new PieceBufferPool(1024, 2)
  const a = pool.take(1024)
  const b = pool.take(1024)
  assert.equal(pool.allocated, 2)
  pool.give(a)
  assert.equal(pool.take(1024), a)
  assert.equal(pool.reused, 1)
  pool.give(b)
  pool.give(b)
  assert.equal(pool.freeBytes, 1024, 'a buffer given twice is kept once')
})

test('whole buffers of the piece length are shared memory of their own (the hashing thread reads them in place)', () => {
  const buf = new PieceBufferPool(4096, 1).take(4096)
  assert.equal(buf.byteOffset, 0)
  assert.equal(buf.buffer.byteLength, 4096)
  assert.ok(buf.buffer instanceof SharedArrayBuffer)
})

test('the short last piece, views and small-pool slices are never kept', () => {
  const pool = new PieceBufferPool(1024, 4)
  pool.give(pool.take(100))
  pool.give(Buffer.allocUnsafeSlow(2048).subarray(0, 1024))
  pool.give(Buffer.allocUnsafe(1024).subarray(0))
  pool.give(Buffer.allocUnsafeSlow(1024))
  pool.give(Buffer.from(new SharedArrayBuffer(2048)).subarray(1024))
  assert.equal(pool.freeBytes, 0)
})

test('at most maxFree buffers wait: the pool never holds more than the window did', () => {
  const pool = new PieceBufferPool(64, 2)
  const taken = [pool.take(64), pool.take(64), pool.take(64)]
  for (const b of taken) pool.give(b)
  assert.equal(pool.freeBytes, 128)
  pool.clear()
  assert.equal(pool.freeBytes, 0)
})
