import assert from 'node:assert/strict'
import { join } from 'node:path'
import test from 'node:test'
import type { VerifiedPiece } from '../../lib/output/merging-writable.js'
import { createDiskSink, DiskSink } from '../../lib/storage/disk-sink.js'
import { MemoryStorage } from '../../lib/storage/memory-storage.js'
import { SlowStorage } from '../../lib/storage/slow-storage.js'
import { FileStorage } from '../../lib/storage/file-storage.js'
import { listTree, makeTorrent, pieceOf, shuffled, tempDir } from './helpers.js'

/** The engine's sink shape (lib/swarm/swarm.ts): the disk sink must fit it as it is. */
interface PieceSink {
  write (piece: VerifiedPiece): boolean
  end (): unknown
  destroy (err?: Error): void
  on (event: 'advance', listener: (next: number) => void): unknown
}

const PL = 16 * 1024

async function finished (sink: DiskSink): Promise<void> {
  await new Promise<void>((resolve, reject) => { sink.on('finish', resolve); sink.on('error', reject) })
}

test('disk sink: every piece reaches the storage, then finish (MemoryStorage)', async () => {
  const fx = makeTorrent('m.bin', 40 * PL + 123, PL, 3)
  const memory = new MemoryStorage(fx.meta)
  const sink: PieceSink & DiskSink = createDiskSink(memory)
  const written: number[] = []
  sink.on('written', i => written.push(i))
  const done = finished(sink)
  for (const i of shuffled(fx.meta.pieceCount, 8)) sink.write({ index: i, data: pieceOf(fx, i) })
  sink.end()
  await done
  assert.equal(written.length, fx.meta.pieceCount)
  assert.equal(memory.have.count(), fx.meta.pieceCount)
  for (let i = 0; i < fx.meta.pieceCount; i++) assert.deepEqual(await memory.read(i, 0, pieceOf(fx, i).byteLength), pieceOf(fx, i))
})

test('disk sink: a piece is given back (release) only once its bytes are in storage', async () => {
  const fx = makeTorrent('r.bin', 8 * PL, PL, 5)
  const memory = new MemoryStorage(fx.meta)
  const sink = createDiskSink(new SlowStorage(memory, { latencyMs: 5 }))
  const released: number[] = []
  const done = finished(sink)
  for (let i = 0; i < fx.meta.pieceCount; i++) {
    sink.write({ index: i, data: pieceOf(fx, i), release: () => { released.push(i); assert.ok(memory.have.has(i), `piece ${i} given back before it was stored`) } })
  }
  assert.deepEqual(released, [], 'nothing given back while the writes run')
  sink.end()
  await done
  assert.deepEqual(released.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7])
})

test('disk sink backpressure: write() says stop past the high-water mark, and storage writes in flight stay bounded', async () => {
  const fx = makeTorrent('slow.bin', 32 * PL, PL, 4)
  const slow = new SlowStorage(new MemoryStorage(fx.meta), { latencyMs: 5 })
  const sink = createDiskSink(slow, { highWaterMark: 4 * PL, maxInFlight: 2 })
  const done = finished(sink)
  let refusals = 0
  for (let i = 0; i < fx.meta.pieceCount; i++) {
    if (!sink.write({ index: i, data: pieceOf(fx, i) })) {
      refusals++
      await new Promise<void>(resolve => sink.once('drain', () => resolve()))
    }
  }
  sink.end()
  await done
  assert.ok(refusals > 0, 'a slow disk must push back')
  assert.ok(slow.peakInFlight <= 2, `at most maxInFlight storage writes at once, saw ${slow.peakInFlight}`)
  assert.equal(sink.piecesWritten, fx.meta.pieceCount)
})

test('disk sink: storage writes in flight stay within maxInFlightBytes whatever the count allows', async () => {
  const fx = makeTorrent('bytes.bin', 24 * PL, PL, 9)
  const slow = new SlowStorage(new MemoryStorage(fx.meta), { latencyMs: 3 })
  const sink = createDiskSink(slow, { highWaterMark: 64 * PL, maxInFlight: 100, maxInFlightBytes: 3 * PL })
  const done = finished(sink)
  for (let i = 0; i < fx.meta.pieceCount; i++) sink.write({ index: i, data: pieceOf(fx, i) })
  sink.end()
  await done
  assert.ok(slow.peakInFlight <= 3, `at most 3 pieces' bytes in flight, saw ${slow.peakInFlight} pieces`)
  assert.ok(slow.peakInFlight >= 2, 'the byte bound still lets several writes run at once')
  assert.equal(sink.piecesWritten, fx.meta.pieceCount)
})

test('disk sink: a sink that never emits advance still accepts the listener (PieceSink shape)', () => {
  const fx = makeTorrent('x.bin', PL, PL, 5)
  const sink: PieceSink = createDiskSink(new MemoryStorage(fx.meta))
  let advanced = false
  sink.on('advance', () => { advanced = true })
  sink.destroy()
  assert.equal(advanced, false)
})

test('disk sink: destroy() mid-download lets running writes land, closes the storage, leaves only .part files', async () => {
  const fx = makeTorrent('stop.bin', 16 * PL, PL, 6)
  const { dir, cleanup } = tempDir('sink')
  try {
    const target = join(dir, 'stop.bin')
    const storage = await FileStorage.open(fx.meta, target)
    const sink = createDiskSink(new SlowStorage(storage, { latencyMs: 2 }), { maxInFlight: 3 })
    const closed = new Promise<void>(resolve => sink.on('close', () => resolve()))
    for (let i = 0; i < 8; i++) sink.write({ index: i, data: pieceOf(fx, i) })
    await new Promise<void>(resolve => sink.once('written', () => resolve()))
    sink.destroy()
    await closed
    await assert.rejects(storage.write(9, pieceOf(fx, 9)), /storage is closed/)
    assert.deepEqual(listTree(dir), ['stop.bin.part'])
  } finally { cleanup() }
})
