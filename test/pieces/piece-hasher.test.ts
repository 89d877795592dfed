import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { PieceHasher } from '../../lib/pieces/piece-hasher.js'
import { helperThread } from '../../lib/util/helper-thread.js'

const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest()

/** A hasher whose thread runs (until then pieces are hashed on the caller's thread). */
async function threaded (): Promise<PieceHasher> {
  const hasher = new PieceHasher()
  hasher.warm()
  for (let i = 0; i < 500 && !hasher.threaded; i++) await new Promise(resolve => setTimeout(resolve, 20))
  assert.ok(hasher.threaded, 'the hashing thread came online within 10 s')
  return hasher
}

test('before its thread runs, a piece is hashed on the caller\'s thread: the first piece does not wait for the boot', async () => {
  const hasher = new PieceHasher()
  try {
    hasher.warm()
    const piece = randomBytes(64 * 1024)
    const { digest, data } = await hasher.digest(piece)
    assert.deepEqual(Buffer.from(digest), sha1(piece))
    assert.equal(data, piece, 'not moved to a thread that is still booting')
  } finally {
    hasher.close()
  }
})

test('a piece that owns its memory is hashed on the worker: moved there and back, never copied', async () => {
  const hasher = await threaded()
  try {
    const piece = Buffer.allocUnsafe(256 * 1024)
    randomBytes(piece.length).copy(piece)
    const expected = sha1(piece)
    const copy = Buffer.from(piece)
    const { digest, data } = await hasher.digest(piece)
    assert.deepEqual(Buffer.from(digest), expected)
    assert.equal(piece.byteLength, 0, 'the given buffer was transferred (detached)')
    assert.ok(data.equals(copy), 'the same bytes come back')
  } finally {
    hasher.close()
  }
})

test('a piece in shared memory (the engine\'s piece buffers) is hashed on the worker in place: nothing moves, the same buffer comes back', async () => {
  const hasher = await threaded()
  try {
    const piece = Buffer.from(new SharedArrayBuffer(256 * 1024))
    randomBytes(piece.length).copy(piece)
    const pieces = [piece, Buffer.from(new SharedArrayBuffer(64 * 1024)).fill(7)]
    const results = await Promise.all(pieces.map(p => hasher.digest(p)))
    results.forEach((r, i) => {
      assert.deepEqual(Buffer.from(r.digest), sha1(pieces[i]!))
      assert.equal(r.data, pieces[i], 'the very same buffer')
    })
    assert.equal(piece.byteLength, 256 * 1024, 'shared memory is never detached')
  } finally {
    hasher.close()
  }
})

test('a slice of a shared ArrayBuffer is hashed in place (transferring it would take its neighbours)', async () => {
  const hasher = await threaded()
  try {
    const small = Buffer.from('a small last piece')
    const { digest, data } = await hasher.digest(small)
    assert.deepEqual(Buffer.from(digest), sha1(Buffer.from('a small last piece')))
    assert.equal(data, small, 'the very same buffer, untouched')
  } finally {
    hasher.close()
  }
})

test('many pieces in flight at once each get their own digest', async () => {
  const hasher = await threaded()
  try {
    const pieces = Array.from({ length: 32 }, (_, i) => Buffer.alloc(64 * 1024, i))
    const expected = pieces.map(p => sha1(p))
    const results = await Promise.all(pieces.map(p => hasher.digest(p)))
    results.forEach((r, i) => assert.deepEqual(Buffer.from(r.digest), expected[i]))
  } finally {
    hasher.close()
  }
})

test('every hasher of the process (one per download) shares one thread: each thread is a V8 isolate of its own (~8.5 MiB)', async () => {
  const before = helperThread.started
  const a = await threaded()
  const b = await threaded()
  const c = await threaded()
  try {
    assert.equal(helperThread.started - before, 1, 'three hashers, one thread')
    const pieces = [a, b, c].map((_, i) => Buffer.alloc(64 * 1024, i + 1))
    const expected = pieces.map(p => sha1(p))
    const results = await Promise.all([a, b, c].map((h, i) => h.digest(pieces[i] as Buffer)))
    results.forEach((r, i) => assert.deepEqual(Buffer.from(r.digest), expected[i]))
    assert.ok(pieces.every(p => p.byteLength === 0), 'each went to the thread (detached)')
  } finally {
    a.close()
    b.close()
    c.close()
  }
})

test('one download closing leaves the shared thread to the others; the last one ends it', async () => {
  const before = helperThread.started
  const a = await threaded()
  const b = await threaded()
  try {
    a.close()
    a.close() // twice: still one user less, not two
    assert.ok(b.threaded, 'the other hasher keeps its thread')
    const piece = Buffer.alloc(64 * 1024, 9)
    const expected = sha1(piece)
    const { digest } = await b.digest(piece)
    assert.deepEqual(Buffer.from(digest), expected)
    assert.equal(piece.byteLength, 0, 'hashed on the thread')
  } finally {
    b.close()
  }
  assert.equal(helperThread.started - before, 1)
  const c = new PieceHasher()
  try {
    c.warm()
    assert.equal(helperThread.started - before, 2, 'after the last close, the next download starts a thread again')
  } finally {
    c.close()
  }
})
