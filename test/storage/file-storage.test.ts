import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { filesInPiece } from '../../lib/metainfo/geometry.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { FileStorage } from '../../lib/storage/file-storage.js'
import { insideRoot } from '../../lib/storage/layout.js'
import { StorageError } from '../../lib/util/errors.js'
import { fixture } from '../helpers.js'
import { listTree, makeTorrent, pieceOf, shuffled, tempDir, type Fixture } from './helpers.js'

const PL = 16 * 1024

/** Files of odd sizes so pieces straddle 2 and 3 files; an empty file; BEP 47 padding. */
function album (): Fixture {
  return makeTorrent('album', [
    { path: ['cd1', 'a.bin'], length: 20000 },
    { path: ['cd1', 'small.txt'], length: 300 },
    { path: ['cd1', 'b.bin'], length: 5000 },
    { path: ['empty.txt'], length: 0 },
    { path: ['.pad', '7468'], length: 32768 - 25300, padding: true },
    { path: ['cd2', 'c.bin'], length: 40000 }
  ], PL, 7)
}

async function writeAll (fx: Fixture, storage: FileStorage, seed: number): Promise<void> {
  for (const i of shuffled(fx.meta.pieceCount, seed)) if (storage.layout.wanted.has(i)) await storage.write(i, pieceOf(fx, i))
}

function assertFilesMatch (fx: Fixture, root: string, paths: readonly string[]): void {
  for (const p of paths) assert.deepEqual(new Uint8Array(readFileSync(join(root, p))), fx.contents.get(p), p)
}

test('BEP 3: pieces written in random order land at their offsets; a piece spanning three files is split', async () => {
  const fx = album()
  assert.ok(filesInPiece(fx.meta, 1).filter(s => !(fx.meta.files[s.fileIndex]?.padding ?? false)).length >= 2)
  assert.equal(filesInPiece(fx.meta, 1).length, 4, 'piece 1 covers a.bin, small.txt, b.bin and padding')
  const { dir, cleanup } = tempDir('fs')
  try {
    const storage = await FileStorage.open(fx.meta, dir)
    await writeAll(fx, storage, 3)
    assert.equal(storage.complete, true)
    await storage.close()
    const real = fx.meta.files.filter(f => !f.padding).map(f => f.path).sort()
    assert.deepEqual(listTree(dir), real, 'exactly the real files, no .part left, BEP 47 padding never written')
    assertFilesMatch(fx, dir, real)
    assert.equal(statSync(join(dir, 'album/empty.txt')).size, 0, 'the zero-length file is created')
  } finally { cleanup() }
})

test('BEP 3: a single-file torrent is written to exactly the path given', async () => {
  const fx = makeTorrent('single.bin', 100000, PL, 2)
  const { dir, cleanup } = tempDir('fs')
  try {
    const target = join(dir, 'elsewhere', 'renamed.dat')
    const storage = await FileStorage.open(fx.meta, target)
    await writeAll(fx, storage, 5)
    await storage.close()
    assert.deepEqual(listTree(dir), ['elsewhere/renamed.dat'])
    assert.deepEqual(new Uint8Array(readFileSync(target)), fx.payload)
  } finally { cleanup() }
})

test('incomplete marking: a file is under name.part until every piece touching it is written', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('fs')
  try {
    const storage = await FileStorage.open(fx.meta, dir)
    await storage.write(0, pieceOf(fx, 0))
    // Piece 0 is the first 16 KiB of a.bin (20000 bytes): a.bin is incomplete.
    assert.deepEqual(listTree(dir), ['album/cd1/a.bin.part', 'album/empty.txt'])
    await storage.write(1, pieceOf(fx, 1))
    // Piece 1 completes a.bin, small.txt and b.bin; c.bin has not started.
    assert.deepEqual(listTree(dir), ['album/cd1/a.bin', 'album/cd1/b.bin', 'album/cd1/small.txt', 'album/empty.txt'])
    assertFilesMatch(fx, dir, ['album/cd1/a.bin', 'album/cd1/b.bin', 'album/cd1/small.txt'])
    await storage.write(3, pieceOf(fx, 3))
    assert.ok(listTree(dir).includes('album/cd2/c.bin.part'))
    assert.equal(existsSync(join(dir, 'album/cd2/c.bin')), false, 'never a partial file under its final name')
    assert.equal(storage.complete, false)
    assert.equal(storage.missingPieces, 2, "pieces 2 and 4 of c.bin")
    await storage.close()
  } finally { cleanup() }
})

test('BEP 3 request: read() serves any block of a piece, across files and padding', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('fs')
  try {
    const storage = await FileStorage.open(fx.meta, dir)
    await writeAll(fx, storage, 9)
    for (let i = 0; i < fx.meta.pieceCount; i++) {
      const whole = pieceOf(fx, i)
      assert.deepEqual(await storage.read(i, 0, whole.byteLength), whole)
      assert.deepEqual(await storage.read(i, 100, 5000), whole.subarray(100, 5100))
    }
    await assert.rejects(storage.read(0, PL - 10, 20), RangeError)
    await storage.close()
  } finally { cleanup() }
})

test('BEP 3 request, BEP 47 padding: readInto() fills every byte of a reused buffer, the padding with zeros, whatever the buffer held', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('fs')
  try {
    const storage = await FileStorage.open(fx.meta, dir)
    await writeAll(fx, storage, 3)
    // Piece 1 ends in the padding (25300..32768): a recycled buffer's old bytes must not show there.
    for (let i = 0; i < fx.meta.pieceCount; i++) {
      const whole = pieceOf(fx, i)
      const into = new Uint8Array(whole.byteLength).fill(0xee)
      await storage.readInto(i, 0, into)
      assert.deepEqual(into, whole, `piece ${i}`)
      const part = new Uint8Array(5000).fill(0xee)
      await storage.readInto(i, 100, part)
      assert.deepEqual(part, whole.subarray(100, 5100), `piece ${i} from 100`)
    }
    assert.ok(pieceOf(fx, 1).subarray(25300 - PL).every(b => b === 0), 'the fixture has padding in piece 1')
    await assert.rejects(storage.readInto(0, PL - 10, new Uint8Array(20)), RangeError)
    await storage.close()
  } finally { cleanup() }
})

test('--file selection: only selected files are created; boundary pieces are kept whole in the side file', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('fs')
  try {
    // small.txt only: piece 1 also holds parts of a.bin and b.bin, which must not be created.
    const selection = [1]
    const storage = await FileStorage.open(fx.meta, dir, { selection })
    assert.deepEqual([...storage.layout.wanted.indexes()], [1])
    await assert.rejects(storage.write(0, pieceOf(fx, 0)), RangeError, 'a piece outside the selection is a caller bug')
    await storage.write(1, pieceOf(fx, 1))
    assert.equal(storage.complete, true)
    assert.deepEqual(await storage.read(1, 0, PL), pieceOf(fx, 1), 'a seeder can still serve the whole boundary piece')
    await storage.close()
    assert.deepEqual(listTree(dir), [`.bt-stream-${fx.meta.infoHashHex}.parts`, 'album/cd1/small.txt'])
    assertFilesMatch(fx, dir, ['album/cd1/small.txt'])
  } finally { cleanup() }
})

test('a stale file under the final name is moved to name.part and rewritten, never presented as done', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('fs')
  try {
    mkdirSync(join(dir, 'album/cd2'), { recursive: true })
    writeFileSync(join(dir, 'album/cd2/c.bin'), 'not the torrent\'s bytes, and longer than nothing')
    const storage = await FileStorage.open(fx.meta, dir)
    assert.equal(existsSync(join(dir, 'album/cd2/c.bin')), false)
    assert.ok(existsSync(join(dir, 'album/cd2/c.bin.part')))
    await writeAll(fx, storage, 4)
    await storage.close()
    assertFilesMatch(fx, dir, ['album/cd2/c.bin'])
  } finally { cleanup() }
})

test('temporary names never collide with the torrent\'s own files (a and a.part)', async () => {
  const fx = makeTorrent('t', [{ path: ['a'], length: 1000 }, { path: ['a.part'], length: 1000 }], PL, 3)
  const { dir, cleanup } = tempDir('fs')
  try {
    const storage = await FileStorage.open(fx.meta, dir)
    assert.deepEqual(storage.layout.temps.map(t => t?.slice(dir.length + 1)), ['t/a.part.part', 't/a.part.part.part'])
    await storage.write(0, pieceOf(fx, 0))
    await storage.close()
    assertFilesMatch(fx, dir, ['t/a', 't/a.part'])
  } finally { cleanup() }
})

test('nothing is written outside the output root, even for a torrent with hostile paths', async () => {
  assert.throws(() => insideRoot('/out', '../etc/passwd'), StorageError)
  assert.throws(() => insideRoot('/out', '/etc/passwd'), StorageError)
  assert.equal(insideRoot('/out', 'a/b'), '/out/a/b')
  const meta = parseTorrent(fixture('sanitised.torrent'))
  const { dir, cleanup } = tempDir('fs')
  try {
    const root = join(dir, 'root')
    const storage = await FileStorage.open(meta, root)
    for (let i = 0; i < meta.pieceCount; i++) {
      // Any bytes will do: this checks where they go, not what they are.
      await storage.write(i, new Uint8Array(i === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength))
    }
    await storage.close()
    assert.ok(listTree(dir).every(p => p.startsWith('root/')), listTree(dir).join(', '))
    assert.ok(listTree(dir).length > 0)
  } finally { cleanup() }
})
