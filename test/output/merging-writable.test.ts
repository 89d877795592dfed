import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MergingWritable } from '../../lib/output/merging-writable.js'
import { collect } from '../helpers.js'

function piece (index: number, length: number): { index: number, data: Uint8Array } {
  return { index, data: new Uint8Array(length).fill(index + 1) }
}


test('pieces written in any order come out in order', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 0, end: 14, maxHeldBytes: 64 })
  const out = collect(m.output)
  for (const i of [2, 0, 3, 1]) m.write(piece(i, i === 3 ? 2 : 4))
  m.end(null)
  assert.deepEqual([...await out], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4])
})

test('a byte range (one file of many) trims its first and last pieces', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 3, end: 9, maxHeldBytes: 64 })
  const out = collect(m.output)
  m.write(piece(2, 4)); m.write(piece(1, 4)); m.write(piece(0, 4))
  m.end(null)
  assert.deepEqual([...await out], [1, 2, 2, 2, 2, 3])
})

test('a slow reader holds pieces in the merger and the cursor does not pass them', async () => {
  const m = new MergingWritable({ pieceLength: 1024, start: 0, end: 8 * 1024, maxHeldBytes: 8 * 1024, outputHighWaterMark: 1024 })
  const advances: number[] = []
  m.on('advance', n => advances.push(n))
  for (let i = 0; i < 8; i++) m.write(piece(i, 1024))
  await new Promise(resolve => setImmediate(resolve))
  assert.ok(m.cursor < 8, 'nobody reads: the cursor waits')
  assert.ok(m.heldBytes > 0)
  assert.ok(m.peakHeldBytes <= 8 * 1024)
  m.end(null)
  const out = await collect(m.output)
  assert.equal(out.length, 8 * 1024)
  assert.equal(m.cursor, 8)
})

test('holding more than the window is refused as an engine bug', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 0, end: 40, maxHeldBytes: 8 })
  const outErr = new Promise<Error>(resolve => m.output.on('error', resolve))
  const err = new Promise<Error>(resolve => m.on('error', resolve))
  m.write(piece(5, 4)); m.write(piece(6, 4)); m.write(piece(7, 4))
  assert.match((await err).message, /exceed the 8-byte window/)
  assert.match((await outErr).message, /download stopped/, 'the reader learns the download stopped')
})

test('the reader going away stops the merger with a clear error', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 0, end: 40, maxHeldBytes: 64 })
  const err = new Promise<Error>(resolve => m.on('error', resolve))
  m.output.destroy()
  assert.match((await err).message, /output closed before the download finished/)
})

test('an empty range ends at once', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 8, end: 8, maxHeldBytes: 8 })
  assert.equal((await collect(m.output)).length, 0)
})

test('a piece its producer reuses (release) is read out as copies, and given back after its last byte', async () => {
  const m = new MergingWritable({ pieceLength: 8, start: 2, end: 14, maxHeldBytes: 64, copyChunk: 3, outputHighWaterMark: 3 })
  const released: number[] = []
  const reused = (index: number): { index: number, data: Uint8Array, release: () => void } => {
    const p = piece(index, index === 1 ? 6 : 8)
    return { ...p, release: () => { released.push(index); p.data.fill(0xee) } }
  }
  m.write(reused(1))
  m.write(reused(0))
  // Nothing read yet: the output holds one chunk, so piece 0 is still being copied out.
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(released, [], 'a piece is not given back while bytes of it remain to copy')
  const chunks: Uint8Array[] = []
  for await (const c of m.output) chunks.push(c as Uint8Array)
  m.end(null)
  assert.deepEqual(released, [0, 1], 'each piece given back once, in order')
  assert.ok(chunks.every(c => c.byteLength <= 3), 'copies of at most copyChunk bytes')
  // release() overwrote the pieces: what the reader got must be its own bytes.
  assert.deepEqual([...Buffer.concat(chunks)], [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2])
})

test('a piece without release is handed to the reader as a view (no copy)', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 0, end: 4, maxHeldBytes: 8 })
  const p = piece(0, 4)
  m.write(p)
  m.end(null)
  const chunks: Uint8Array[] = []
  for await (const c of m.output) chunks.push(c as Uint8Array)
  assert.equal(chunks.length, 1)
  assert.equal(chunks[0]!.buffer, p.data.buffer)
})

test('pieces still held when the merger is destroyed are given back', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 0, end: 16, maxHeldBytes: 16 })
  const released: number[] = []
  m.write({ ...piece(2, 4), release: () => released.push(2) })
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(m.heldBytes, 4)
  m.output.on('error', () => {})
  const closed = new Promise<void>(resolve => m.on('close', () => { resolve() }))
  m.on('error', () => {})
  m.destroy(new Error('stop'))
  await closed
  assert.deepEqual(released, [2])
})

test('BEP 52 prefix: verified first bytes of the cursor\'s piece leave before the piece; the whole piece then adds only the rest (view and copies, range trimmed)', async () => {
  const bytes = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff)
  for (const reuse of [false, true]) {
    const m = new MergingWritable({ pieceLength: 8, start: 3, end: 21, maxHeldBytes: 64, copyChunk: 3 })
    const chunks: number[][] = []
    m.output.on('data', (c: unknown) => chunks.push([...(c as Uint8Array)]))
    const p0 = bytes(8, 0)
    m.writePrefix(0, p0, 2) // ends before the range starts: nothing
    m.writePrefix(0, p0, 6)
    m.writePrefix(0, p0, 6) // again: nothing new
    m.writePrefix(1, bytes(8, 8), 8) // not the cursor's piece: ignored
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(chunks.flat(), [3, 4, 5], 'the prefix is out before the piece')
    let released = 0
    m.write({ index: 0, data: p0, ...(reuse ? { release: () => { released++ } } : {}) })
    m.writePrefix(1, bytes(8, 8), 4)
    m.write({ index: 2, data: bytes(8, 16) })
    m.write({ index: 1, data: bytes(8, 8) })
    m.end(null)
    await new Promise<void>(resolve => m.output.on('end', () => resolve()))
    assert.deepEqual(chunks.flat(), Array.from({ length: 18 }, (_, i) => i + 3), `each byte once (reuse ${String(reuse)})`)
    assert.equal(released, reuse ? 1 : 0)
  }
})

test('lend mode: a reused piece leaves as views of its own memory, and goes back only once the reader gives its bytes back', async () => {
  const m = new MergingWritable({ pieceLength: 8, start: 2, end: 14, maxHeldBytes: 64, copyChunk: 3, lend: true })
  const released: number[] = []
  const pieces = [piece(0, 8), piece(1, 6)]
  for (const i of [1, 0]) m.write({ ...pieces[i]!, release: () => { released.push(i) } })
  m.end(null)
  const chunks: Uint8Array[] = []
  for await (const c of m.output) chunks.push(c as Uint8Array)
  assert.ok(chunks.every(c => c.byteLength <= 3), 'views of at most copyChunk bytes')
  assert.equal(chunks[0]!.buffer, pieces[0]!.data.buffer, 'a view of the piece, not a copy')
  assert.deepEqual([...Buffer.concat(chunks)], [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2])
  assert.deepEqual(released, [], 'read is not given back: the reader may still hold the views')
  assert.equal(m.lentBytes, 14)
  m.giveBack(5)
  assert.deepEqual(released, [], 'piece 0 ends at output byte 6: not wholly given back at 5')
  m.giveBack(1)
  assert.deepEqual(released, [0])
  m.giveBack(6)
  assert.deepEqual(released, [0, 1])
  assert.equal(m.lentBytes, 0)
})

test('lend mode: a reader that reads and never gives back stalls the output at the window instead of growing memory', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 0, end: 40, maxHeldBytes: 8, lend: true })
  const read: Uint8Array[] = []
  m.output.on('data', (c: unknown) => { read.push(c as Uint8Array) })
  let written = 0
  const next = (): void => { if (written < 10) m.write({ ...piece(written++, 4), release: () => {} }) }
  m.on('advance', next)
  next(); next()
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(Buffer.concat(read).byteLength, 8, 'two pieces (the window) lent, then nothing')
  assert.equal(m.lentBytes, 8)
  m.giveBack(8)
  await new Promise(resolve => setImmediate(resolve))
  assert.ok(Buffer.concat(read).byteLength > 8, 'given back: the output moves again')
  assert.ok(m.lentBytes <= 8)
})

test('lend mode: a sink that takes every chunk at once and confirms later has at most 2 MiB (or two larger pieces) lent, not the window', async () => {
  const MiB = 1024 * 1024
  for (const pieceLength of [MiB / 2, 4 * MiB]) {
    const m = new MergingWritable({ pieceLength, start: 0, end: 8 * pieceLength, maxHeldBytes: 8 * pieceLength, lend: true })
    let read = 0
    m.output.on('data', (c: unknown) => { read += (c as Uint8Array).byteLength })
    for (let i = 0; i < 8; i++) m.write({ ...piece(i, pieceLength), release: () => {} })
    await new Promise(resolve => setImmediate(resolve))
    const cap = Math.max(2 * MiB, 2 * pieceLength)
    assert.equal(read, cap, `${pieceLength}-byte pieces: lent up to the cap, then the output waits`)
    m.giveBack(read)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(read, 2 * cap, 'given back: the next ones go out')
  }
})

test('a verified piece written while the window has room does not ask the engine to stop (write returns true)', async () => {
  const m = new MergingWritable({ pieceLength: 4, start: 0, end: 8, maxHeldBytes: 16 })
  assert.equal(m.write(piece(1, 4)), true, 'one piece held of a four-piece window')
  assert.equal(m.write(piece(0, 4)), true)
  m.end(null)
  assert.equal((await collect(m.output)).length, 8)
})
