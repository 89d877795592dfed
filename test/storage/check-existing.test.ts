import assert from 'node:assert/strict'
import { existsSync, openSync, readFileSync, rmSync, truncateSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { BitField } from '../../lib/wire/bitfield.js'
import { checkExisting, type CheckProgress } from '../../lib/storage/check-existing.js'
import { FileStorage } from '../../lib/storage/file-storage.js'
import { listTree, makeTorrent, pieceOf, tempDir, type Fixture } from './helpers.js'

const PL = 16 * 1024

function album (): Fixture {
  return makeTorrent('album', [
    { path: ['a.bin'], length: 20000 },
    { path: ['small.txt'], length: 300 },
    { path: ['b.bin'], length: 5000 },
    { path: ['.pad', '7468'], length: 7468, padding: true },
    { path: ['c.bin'], length: 40000 }
  ], PL, 11)
}

test('resume (BEP 3 piece hashes): every piece on disk verifies, read from the .part files while incomplete', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('check')
  try {
    const storage = await FileStorage.open(fx.meta, dir)
    for (const i of [0, 2, 4]) await storage.write(i, pieceOf(fx, i))
    await storage.close()
    assert.ok(listTree(dir).every(p => p.endsWith('.part')), 'nothing is complete yet')
    const progress: CheckProgress[] = []
    const have = await checkExisting(fx.meta, dir, undefined, p => progress.push(p))
    assert.deepEqual([...have.indexes()], [0, 2, 4])
    assert.deepEqual(progress.map(p => p.checked), [1, 2, 3, 4, 5])
    assert.deepEqual(progress.at(-1), { checked: 5, total: 5, verified: 3, bytes: 3 * PL + fx.meta.lastPieceLength })

    // The engine fetches the rest; the storage opened with `have` finishes every file.
    const again = await FileStorage.open(fx.meta, dir, { have })
    assert.equal(again.missingPieces, 2)
    for (const i of [1, 3]) await again.write(i, pieceOf(fx, i))
    assert.equal(again.complete, true)
    await again.close()
    assert.deepEqual(listTree(dir), ['album/a.bin', 'album/b.bin', 'album/c.bin', 'album/small.txt'])
    assert.deepEqual([...(await checkExisting(fx.meta, dir)).indexes()], [0, 1, 2, 3, 4], 'a finished download checks whole from the final names')
  } finally { cleanup() }
})

test('resume: a half-written piece is simply not counted', async () => {
  const fx = makeTorrent('one.bin', 5 * PL, PL, 5)
  const { dir, cleanup } = tempDir('check')
  try {
    const target = join(dir, 'one.bin')
    const storage = await FileStorage.open(fx.meta, target)
    await storage.write(0, pieceOf(fx, 0))
    await storage.close()
    // What a kill in the middle of a write leaves: the first half of piece 2's bytes.
    const fd = openSync(target + '.part', 'r+')
    writeSync(fd, pieceOf(fx, 2).subarray(0, PL / 2), 0, PL / 2, 2 * PL)
    closeSync(fd)
    assert.deepEqual([...(await checkExisting(fx.meta, target)).indexes()], [0])
    // A file cut short loses the pieces past its end, not the ones before.
    truncateSync(target + '.part', PL - 1)
    assert.deepEqual([...(await checkExisting(fx.meta, target)).indexes()], [])
  } finally { cleanup() }
})

test('resume with --file: a boundary piece verifies from the selected file plus the side file', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('check')
  try {
    const selection = [1] // small.txt, inside piece 1 with a.bin and b.bin
    const storage = await FileStorage.open(fx.meta, dir, { selection })
    await storage.write(1, pieceOf(fx, 1))
    await storage.close()
    const have = await checkExisting(fx.meta, dir, selection)
    assert.deepEqual([...have.indexes()], [1])
    const reopened = await FileStorage.open(fx.meta, dir, { selection, have })
    assert.equal(reopened.complete, true, 'a rerun finds the selected file done and keeps it')
    await reopened.close()
    assert.ok(existsSync(join(dir, 'album/small.txt')))

    // Widening the selection to everything: piece 1 still verifies (a.bin's and b.bin's parts
    // from the side file), the rerun fetches the rest, and the side file, no longer needed, is removed.
    const haveAll = await checkExisting(fx.meta, dir)
    assert.deepEqual([...haveAll.indexes()], [1], 'the side file holds what a.bin and b.bin lack')
    const all = await FileStorage.open(fx.meta, dir, { have: haveAll })
    for (let i = 0; i < fx.meta.pieceCount; i++) if (!haveAll.has(i)) await all.write(i, pieceOf(fx, i))
    await all.close()
    assert.deepEqual(listTree(dir), ['album/a.bin', 'album/b.bin', 'album/c.bin', 'album/small.txt'])
    for (const [path, bytes] of fx.contents) assert.ok(Buffer.from(readFileSync(join(dir, path))).equals(bytes), path)

    // A selected file's part of a verified piece comes back from the side file's record.
    const again = await FileStorage.open(fx.meta, dir, { selection, have: new BitField(fx.meta.pieceCount) })
    await again.write(1, pieceOf(fx, 1))
    await again.close()
    rmSync(join(dir, 'album/small.txt'))
    const haveAgain = await checkExisting(fx.meta, dir, selection)
    assert.deepEqual([...haveAgain.indexes()], [1])
    const restored = await FileStorage.open(fx.meta, dir, { selection, have: haveAgain })
    assert.equal(restored.complete, true)
    await restored.close()
    assert.ok(Buffer.from(readFileSync(join(dir, 'album/small.txt'))).equals(fx.contents.get('album/small.txt') as Uint8Array))
  } finally { cleanup() }
})

test('resume: nothing on disk means no piece, and an abort stops the check', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('check')
  try {
    assert.equal((await checkExisting(fx.meta, dir)).count(), 0)
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(checkExisting(fx.meta, dir, undefined, undefined, { signal: ac.signal }), { name: 'AbortError' })
  } finally { cleanup() }
})

test('resume (BEP 3): nothing on disk is one look per file, not one read per piece; one file present goes piece by piece', async () => {
  const fx = album()
  const { dir, cleanup } = tempDir('check')
  try {
    const progress: CheckProgress[] = []
    const have = await checkExisting(fx.meta, dir, undefined, p => progress.push(p))
    assert.equal(have.count(), 0)
    assert.deepEqual(progress, [{ checked: 5, total: 5, verified: 0, bytes: 0 }], 'one report: every piece checked, none verified')
    assert.deepEqual(listTree(dir), [], 'the check creates nothing')

    // Only c.bin's last piece on disk: the other files are absent, yet that piece verifies.
    const storage = await FileStorage.open(fx.meta, dir)
    await storage.write(4, pieceOf(fx, 4))
    await storage.close()
    progress.length = 0
    assert.deepEqual([...(await checkExisting(fx.meta, dir, undefined, p => progress.push(p))).indexes()], [4])
    assert.deepEqual(progress.map(p => p.checked), [1, 2, 3, 4, 5])
  } finally { cleanup() }
})
