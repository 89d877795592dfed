import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { checkExisting } from '../../lib/storage/check-existing.js'
import { FileStorage } from '../../lib/storage/file-storage.js'
import { sideFilePath } from '../../lib/storage/layout.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { listTree, makeTorrent, pieceOf, tempDir, type Fixture } from './helpers.js'

const PL = 16 * 1024

/**
 * Three files; mid.bin (file 1) spans pieces 1..4, sharing piece 1 with a.bin and piece 4 with
 * c.bin; pieces 2 and 3 are its own.
 */
function three (): Fixture {
  return makeTorrent('three', [
    { path: ['a.bin'], length: 20000 },
    { path: ['mid.bin'], length: 50000 },
    { path: ['c.bin'], length: 30000 }
  ], PL, 21)
}

/** A run of the download: check, open, write what is missing (or only `writeOnly`), close. */
async function run (fx: Fixture, dir: string, selection?: number[], writeOnly?: number[]): Promise<BitField> {
  const have = await checkExisting(fx.meta, dir, selection)
  const storage = await FileStorage.open(fx.meta, dir, { selection, have })
  for (const i of storage.layout.wanted.indexes()) {
    if (have.has(i) || (writeOnly !== undefined && !writeOnly.includes(i))) continue
    await storage.write(i, pieceOf(fx, i))
  }
  await storage.close()
  return have
}

function assertContents (fx: Fixture, dir: string): void {
  for (const [path, bytes] of fx.contents) assert.ok(Buffer.from(readFileSync(join(dir, path))).equals(bytes), `${path} holds the torrent's bytes`)
}

test('widening --file 1 to every file: every piece of file 1 counts, the boundary pieces from the side file', async () => {
  const fx = three()
  const { dir, cleanup } = tempDir('widen')
  try {
    await run(fx, dir, [1])
    assert.deepEqual(listTree(dir), [`.bt-stream-${fx.meta.infoHashHex}.parts`, 'three/mid.bin'])
    const have = await checkExisting(fx.meta, dir)
    assert.deepEqual([...have.indexes()], [1, 2, 3, 4], 'pieces 1 and 4 verify with their a.bin and c.bin parts from the side file')

    // The wider run: mid.bin is complete and stays so; a.bin and c.bin get their parts of the
    // boundary pieces, then the rest.
    const storage = await FileStorage.open(fx.meta, dir, { have })
    assert.equal(storage.missingPieces, 3)
    assert.deepEqual(listTree(dir).filter(p => !p.includes('.bt-stream-')), ['three/a.bin.part', 'three/c.bin.part', 'three/mid.bin'])
    for (const i of [0, 5, 6]) await storage.write(i, pieceOf(fx, i))
    assert.equal(storage.complete, true)
    await storage.close()
    assert.deepEqual(listTree(dir), ['three/a.bin', 'three/c.bin', 'three/mid.bin'], 'every file complete; the side file, no longer needed, is gone')
    assertContents(fx, dir)
  } finally { cleanup() }
})

test('widening, interrupted: the complete file never goes back to .part, and the next run counts it again', async () => {
  const fx = three()
  const { dir, cleanup } = tempDir('widen')
  try {
    await run(fx, dir, [1])
    // Interrupted twice: once before any new piece, once after one.
    await run(fx, dir, undefined, [])
    assert.ok(existsSync(join(dir, 'three/mid.bin')), 'mid.bin keeps its final name')
    await run(fx, dir, undefined, [6])
    assert.ok(existsSync(join(dir, 'three/mid.bin')))
    const have = await checkExisting(fx.meta, dir)
    assert.deepEqual([...have.indexes()], [1, 2, 3, 4, 6])
    await run(fx, dir)
    assert.deepEqual(listTree(dir), ['three/a.bin', 'three/c.bin', 'three/mid.bin'])
    assertContents(fx, dir)
  } finally { cleanup() }
})

test('widening without the side file (deleted, or an older layout): the complete file keeps its name; the pieces it shares are fetched into it', async () => {
  const fx = three()
  for (const sideFile of ['deleted', 'older layout'] as const) {
    const { dir, cleanup } = tempDir('widen')
    try {
      await run(fx, dir, [1])
      const side = sideFilePath(join(dir), fx.meta)
      assert.ok(existsSync(side))
      // The layout before records had headers: bare piece-sized slots.
      if (sideFile === 'deleted') rmSync(side)
      else writeFileSync(side, Buffer.concat([pieceOf(fx, 1), pieceOf(fx, 4)]))
      const have = await checkExisting(fx.meta, dir)
      assert.deepEqual([...have.indexes()], [2, 3], `${sideFile}: pieces 1 and 4 cannot be checked without a.bin and c.bin`)
      const storage = await FileStorage.open(fx.meta, dir, { have })
      assert.ok(existsSync(join(dir, 'three/mid.bin')), `${sideFile}: mid.bin is not renamed to .part`)
      await storage.close()
      await run(fx, dir)
      assert.deepEqual(listTree(dir), ['three/a.bin', 'three/c.bin', 'three/mid.bin'])
      assertContents(fx, dir)
    } finally { cleanup() }
  }
})

test('a file under its final name with a piece of its own that fails is still moved to .part', async () => {
  const fx = three()
  const { dir, cleanup } = tempDir('widen')
  try {
    await run(fx, dir, [1])
    rmSync(sideFilePath(dir, fx.meta))
    // Spoil piece 2, which lies wholly in mid.bin: the file is not the torrent's as it stands.
    const mid = join(dir, 'three/mid.bin')
    const bytes = readFileSync(mid)
    bytes.writeUInt8((bytes.readUInt8(2 * PL - 20000) ^ 1), 2 * PL - 20000)
    writeFileSync(mid, bytes)
    const have = await checkExisting(fx.meta, dir)
    assert.deepEqual([...have.indexes()], [3])
    const storage = await FileStorage.open(fx.meta, dir, { have })
    assert.ok(existsSync(mid + '.part') && !existsSync(mid))
    await storage.close()
  } finally { cleanup() }
})

test('two narrow selections in turn keep each other\'s boundary pieces; widening then counts them all', async () => {
  const fx = three()
  const { dir, cleanup } = tempDir('widen')
  try {
    await run(fx, dir, [0]) // pieces 0, 1 (1 shared with mid.bin)
    await run(fx, dir, [2]) // pieces 4, 5, 6 (4 shared with mid.bin)
    assert.deepEqual([...(await checkExisting(fx.meta, dir, [0])).indexes()], [0, 1], 'the second selection did not overwrite the first one\'s piece 1')
    assert.deepEqual([...(await checkExisting(fx.meta, dir)).indexes()], [0, 1, 4, 5, 6])
    const have = await run(fx, dir)
    assert.equal(have.count(), 5)
    assert.deepEqual(listTree(dir), ['three/a.bin', 'three/c.bin', 'three/mid.bin'])
    assertContents(fx, dir)
  } finally { cleanup() }
})

test('a seeder of a --file download serves the boundary pieces from the side file', async () => {
  const fx = three()
  const { dir, cleanup } = tempDir('widen')
  try {
    await run(fx, dir, [1])
    const have = await checkExisting(fx.meta, dir, undefined, undefined, { links: 'follow-reads' })
    assert.deepEqual([...have.indexes()], [1, 2, 3, 4])
    const seeder = await FileStorage.open(fx.meta, dir, { have, links: 'follow-reads' })
    try {
      for (const i of have.indexes()) assert.ok(Buffer.from(await seeder.read(i, 0, PL)).equals(pieceOf(fx, i)), `piece ${i}`)
    } finally { await seeder.close() }
    assert.deepEqual(readdirSync(join(dir, 'three')), ['mid.bin'], 'the seeder created nothing')
  } finally { cleanup() }
})
