import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { READ_AHEAD_CHUNK, ReadAhead } from '../../lib/seed/read-ahead.js'
import type { PieceReader } from '../../lib/seed/uploader.js'
import { GatedReader, MemoryIntoReader, MemoryReader } from './helpers.js'

const BLOCK = 16384
const PIECE = 256 * 1024
const PIECES = 40
const LAST = 100_000
const data = randomBytes(PIECE * (PIECES - 1) + LAST)
const geometry = { pieceLength: PIECE, pieceCount: PIECES, lastPieceLength: LAST }
/** A Buffer over the same bytes: deepEqual compares the type too. */
const asBuffer = (b: Uint8Array | undefined): Buffer | undefined => b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
const expected = (index: number, begin: number, length: number): Uint8Array => data.subarray(index * PIECE + begin, index * PIECE + begin + length)

test('upload read-ahead: the 16 blocks of a 256 KiB piece (BEP 3 requests) cost one read of the storage, each block with its own bytes', async () => {
  const inner = new MemoryReader(data, PIECE)
  const ra = new ReadAhead(inner, geometry)
  const blocks = await Promise.all(Array.from({ length: PIECE / BLOCK }, async (_, i) => await ra.read(3, i * BLOCK, BLOCK)))
  blocks.forEach((b, i) => assert.deepEqual(b, expected(3, i * BLOCK, BLOCK)))
  assert.equal(inner.reads, 1)
  // The short last piece and its short last block: one read of what the piece has.
  const last = await ra.read(PIECES - 1, 6 * BLOCK, LAST - 6 * BLOCK)
  assert.deepEqual(last, expected(PIECES - 1, 6 * BLOCK, LAST - 6 * BLOCK))
  assert.deepEqual(await ra.read(PIECES - 1, 0, BLOCK), expected(PIECES - 1, 0, BLOCK))
  assert.equal(inner.reads, 2)
})

test('upload read-ahead: a block is a view into its chunk (no 16 KiB ArrayBuffer per block): the Uploader bounds what views keep alive (pin-window.ts)', async () => {
  const ra = new ReadAhead(new MemoryReader(data, PIECE), geometry)
  const b = await ra.read(1, BLOCK, BLOCK)
  assert.deepEqual(b, expected(1, BLOCK, BLOCK))
  assert.equal(b.buffer.byteLength >= PIECE, true)
  assert.equal(ra.readNow(1, 2 * BLOCK, BLOCK)?.buffer, b.buffer, 'the same chunk')
})

test('upload read-ahead: bounded: at most maxCached chunks kept (least recently used dropped), at most maxReading chunk reads at once, past it a block is read alone', async () => {
  const inner = new MemoryReader(data, PIECE)
  const gated = new GatedReader(inner)
  const ra = new ReadAhead(gated, geometry, { maxCached: 4, maxReading: 2 })
  const pending = [0, 1, 2, 3].map(async p => await ra.read(p, 0, BLOCK))
  // Pieces 0 and 1 start chunk reads; 2 and 3 find both chunk reads running and read one block each.
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(gated.started, 4)
  gated.release()
  const got = await Promise.all(pending)
  got.forEach((b, p) => assert.deepEqual(b, expected(p, 0, BLOCK)))
  assert.equal(ra.cached, 2)
  for (let p = 10; p < 20; p++) await ra.read(p, 0, BLOCK)
  assert.equal(ra.cached, 4, 'never more than maxCached chunks')
  const before = inner.reads
  await ra.read(19, BLOCK, BLOCK) // recent: cached
  assert.equal(inner.reads, before)
  await ra.read(10, BLOCK, BLOCK) // dropped long ago: read again
  assert.equal(inner.reads, before + 1)
})

test('upload read-ahead: a chunk read that fails leaves each block to be read alone, with the answer the storage gives that block (bytes or its error)', async () => {
  // Storage that has only the first 64 KiB of piece 5 (a file that ends early).
  const inner: PieceReader & { reads: number } = {
    reads: 0,
    async read (index, begin, length) {
      this.reads++
      if (index === 5 && begin + length > 4 * BLOCK) throw new Error('ends early')
      return expected(index, begin, length)
    }
  }
  const ra = new ReadAhead(inner, geometry)
  assert.deepEqual(await ra.read(5, BLOCK, BLOCK), expected(5, BLOCK, BLOCK))
  await assert.rejects(ra.read(5, 5 * BLOCK, BLOCK), /ends early/)
  assert.equal(ra.cached, 0, 'a failed chunk is not kept')
  assert.equal(READ_AHEAD_CHUNK, PIECE)
})

test('upload read-ahead: a prefetch hint reads the chunk once; readNow answers its blocks without a promise once it is read, and nothing before', async () => {
  const inner = new MemoryReader(data, PIECE)
  const gated = new GatedReader(inner)
  const ra = new ReadAhead(gated, geometry)
  assert.equal(ra.readNow(7, BLOCK, BLOCK), undefined, 'not read yet')
  ra.prefetch(7, 2 * BLOCK, BLOCK)
  ra.prefetch(7, 3 * BLOCK, BLOCK) // the same chunk: no second read
  assert.equal(gated.started, 1)
  assert.equal(ra.readNow(7, BLOCK, BLOCK), undefined, 'still being read')
  assert.equal(ra.inMemory(7, BLOCK, BLOCK), false, 'inMemory says what readNow would')
  gated.release()
  assert.deepEqual(await ra.read(7, 0, BLOCK), expected(7, 0, BLOCK))
  assert.equal(ra.inMemory(7, BLOCK, BLOCK), true)
  assert.equal(ra.inMemory(8, BLOCK, BLOCK), false, 'another chunk')
  for (let b = 0; b < PIECE / BLOCK; b++) assert.deepEqual(ra.readNow(7, b * BLOCK, BLOCK), expected(7, b * BLOCK, BLOCK))
  assert.equal(inner.reads, 1)
  assert.equal(ra.readNow(PIECES - 1, 6 * BLOCK, BLOCK), undefined, 'past the last piece: never from memory')
})

test('upload read-ahead: prefetches take at most three quarters of the chunk reads, so a block asked now still gets one', async () => {
  const inner = new MemoryReader(data, PIECE)
  const gated = new GatedReader(inner)
  const ra = new ReadAhead(gated, geometry, { maxCached: 16, maxReading: 4 })
  for (let p = 0; p < 10; p++) ra.prefetch(p, 0, BLOCK)
  assert.equal(gated.started, 3)
  assert.equal(ra.prefetched, 3)
  const asked = ra.read(20, 0, BLOCK)
  assert.equal(gated.started, 4, 'the block asked now started a chunk read of its own')
  gated.release()
  assert.deepEqual(await asked, expected(20, 0, BLOCK))
  assert.equal(ra.cached, 4)
})

test('upload read-ahead: the chunk dropped when the cache is full is the least recently asked for, hits included', async () => {
  const inner = new MemoryReader(data, PIECE)
  const ra = new ReadAhead(inner, geometry, { maxCached: 3 })
  for (const p of [0, 1, 2]) await ra.read(p, 0, BLOCK)
  assert.ok(ra.readNow(0, BLOCK, BLOCK) !== undefined) // 0 is now the most recent: 1 is the oldest
  await ra.read(3, 0, BLOCK)
  const before = inner.reads
  assert.ok(ra.readNow(0, 2 * BLOCK, BLOCK) !== undefined)
  assert.ok(ra.readNow(2, BLOCK, BLOCK) !== undefined)
  assert.equal(ra.readNow(1, BLOCK, BLOCK), undefined, 'piece 1 was dropped')
  assert.equal(inner.reads, before)
})

test('upload read-ahead, recycling: a chunk\'s buffer is reused only once the chunk left the cache and every block lent from it was released (BEP 3 piece bytes stay exact)', async () => {
  const ra = new ReadAhead(new MemoryIntoReader(data, PIECE), geometry, { maxCached: 2 })
  const a = await ra.read(0, 0, BLOCK)
  const b = await ra.read(1, BLOCK, BLOCK)
  await ra.read(2, 0, BLOCK) // drops piece 0's chunk: `a` is still lent
  const d = await ra.read(3, 0, BLOCK) // drops piece 1's chunk: `b` is still lent
  assert.equal(ra.buffersAllocated, 4, 'no buffer reused while a block of it is lent')
  assert.deepEqual(asBuffer(a), expected(0, 0, BLOCK), 'a lent block keeps its bytes while other chunks are read')
  assert.deepEqual(asBuffer(b), expected(1, BLOCK, BLOCK))
  ra.release(a)
  ra.release(b)
  const e = await ra.read(4, 2 * BLOCK, BLOCK)
  assert.equal(ra.buffersAllocated, 4, 'a released, dropped chunk\'s buffer is read into again')
  assert.ok(e.buffer === a.buffer || e.buffer === b.buffer)
  assert.deepEqual(asBuffer(e), expected(4, 2 * BLOCK, BLOCK))
  // A chunk still cached is not reused, released or not: its blocks are answered from memory.
  ra.release(d)
  await ra.read(5, 0, BLOCK)
  assert.deepEqual(asBuffer(ra.readNow(4, 3 * BLOCK, BLOCK)), expected(4, 3 * BLOCK, BLOCK))
})

test('upload read-ahead, recycling: a block awaited while its chunk is dropped mid-read gets its bytes, and the buffer waits for that block\'s release', async () => {
  const inner = new MemoryIntoReader(data, PIECE)
  let open: () => void = () => {}
  const gate = new Promise<void>(resolve => { open = resolve })
  const gated = Object.assign(Object.create(inner) as MemoryIntoReader, {
    async readInto (index: number, begin: number, into: Uint8Array): Promise<void> {
      if (index === 0) await gate
      await inner.readInto(index, begin, into)
    }
  })
  const ra = new ReadAhead(gated, geometry, { maxCached: 1 })
  const waiting = ra.read(0, BLOCK, BLOCK)
  await ra.read(1, 0, BLOCK) // drops piece 0's chunk while it is being read
  open()
  const a = await waiting
  assert.deepEqual(asBuffer(a), expected(0, BLOCK, BLOCK))
  const before = ra.buffersAllocated
  await ra.read(2, 0, BLOCK) // piece 1's chunk is dropped, its block never released: not reused
  assert.equal(ra.buffersAllocated, before + 1, 'nothing free: the lent block still holds piece 0\'s buffer')
  assert.deepEqual(asBuffer(a), expected(0, BLOCK, BLOCK))
  ra.release(a)
  await ra.read(3, 0, BLOCK)
  assert.equal(ra.buffersAllocated, before + 1, 'released: piece 0\'s buffer is read into for piece 3')
})

test('upload read-ahead, recycling: a failed chunk read\'s buffer is never reused; a reader without readInto lends nothing to recycle', async () => {
  const inner = new MemoryIntoReader(data, PIECE)
  inner.failPiece = 5
  const ra = new ReadAhead(inner, geometry, { maxCached: 1 })
  assert.deepEqual(asBuffer(await ra.read(5, BLOCK, BLOCK)), expected(5, BLOCK, BLOCK), 'read alone after the chunk failed')
  assert.equal(ra.cached, 0)
  await ra.read(6, 0, BLOCK)
  assert.equal(ra.buffersAllocated, 2, 'the failed read\'s buffer was not taken again')
  const plain = new ReadAhead(new MemoryReader(data, PIECE), geometry, { maxCached: 1 })
  const x = await plain.read(7, 0, BLOCK)
  plain.release(x)
  await plain.read(8, 0, BLOCK)
  assert.equal(plain.buffersAllocated, 0)
  assert.deepEqual(asBuffer(x), expected(7, 0, BLOCK))
})
