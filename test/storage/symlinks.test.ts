/**
 * Nothing is written (or read) outside the output root through a symbolic link below it (issue
 * 10 item 6): every directory between the root and a file must be a real one, the file itself is
 * never followed. The root itself is the user's choice and may be a link.
 */
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { checkExisting } from '../../lib/storage/check-existing.js'
import { FileStorage } from '../../lib/storage/file-storage.js'
import { SymlinkRefused, directoriesBetween } from '../../lib/storage/below-root.js'
import { listTree, makeTorrent, pieceOf, tempDir, type Fixture } from './helpers.js'

const PL = 16 * 1024

/** A multi-file torrent "album" with files in album/cd1 and album/cd2, pieces spanning both. */
const ALBUM = makeTorrent('album', [
  { path: ['cd1', 'a.bin'], length: PL + 100 },
  { path: ['cd2', 'b.bin'], length: 2 * PL + 7 }
], PL, 31)
const SINGLE = makeTorrent('one.bin', 3 * PL + 5, PL, 32)

const refusal = (path: string, root: string): string => `${JSON.stringify(path)} is a symbolic link; refusing to follow it outside ${JSON.stringify(root)}`

async function writeAll (fx: Fixture, storage: FileStorage): Promise<void> {
  for (let i = 0; i < fx.meta.pieceCount; i++) if (storage.layout.wanted.has(i)) await storage.write(i, pieceOf(fx, i))
  await storage.close()
}

async function rejection (p: Promise<unknown>): Promise<Error> {
  return await p.then(() => new Error('it succeeded'), (e: Error) => e)
}

/** An outside directory with its contents, and a check that nothing there changed. */
function outside (dir: string): { path: string, unchanged: () => void } {
  const path = join(dir, 'outside')
  mkdirSync(path)
  writeFileSync(join(path, 'precious.txt'), 'precious')
  return { path, unchanged: () => assert.deepEqual(listTree(path), ['precious.txt'], 'nothing written outside the root') }
}

test('multi-file: DIR/album -> elsewhere is refused when the storage opens; nothing is written there', async () => {
  const { dir, cleanup } = tempDir('symlink-dir')
  try {
    const out = join(dir, 'out')
    const away = outside(dir)
    mkdirSync(out)
    symlinkSync(away.path, join(out, 'album'))
    const err = await rejection(FileStorage.open(ALBUM.meta, out))
    assert.ok(err instanceof SymlinkRefused, err.message)
    assert.equal(err.message, refusal(join(out, 'album'), out))
    away.unchanged()
  } finally { cleanup() }
})

test('multi-file: a link deeper down (DIR/album/cd2 -> elsewhere), made after the storage opened, is refused at the write', async () => {
  const { dir, cleanup } = tempDir('symlink-deep')
  try {
    const out = join(dir, 'out')
    const away = outside(dir)
    const storage = await FileStorage.open(ALBUM.meta, out)
    // Piece 0 lies in cd1 only: its directory is created by us.
    await storage.write(0, pieceOf(ALBUM, 0))
    symlinkSync(away.path, join(out, 'album', 'cd2'))
    const err = await rejection(storage.write(2, pieceOf(ALBUM, 2)))
    assert.ok(err instanceof SymlinkRefused, err.message)
    assert.equal(err.message, refusal(join(out, 'album', 'cd2'), out))
    await storage.close()
    away.unchanged()
  } finally { cleanup() }
})

test('multi-file: a link under a file\'s final name, to a file outside, is neither written nor read through', async () => {
  const { dir, cleanup } = tempDir('symlink-file')
  try {
    const out = join(dir, 'out')
    const away = outside(dir)
    mkdirSync(join(out, 'album', 'cd1'), { recursive: true })
    const link = join(out, 'album', 'cd1', 'a.bin')
    symlinkSync(join(away.path, 'precious.txt'), link)
    const err = await rejection(FileStorage.open(ALBUM.meta, out))
    assert.equal(err.message, refusal(link, out))
    const check = await rejection(checkExisting(ALBUM.meta, out))
    assert.equal(check.message, refusal(link, out))
    assert.equal(readFileSync(join(away.path, 'precious.txt'), 'utf8'), 'precious')
    away.unchanged()
  } finally { cleanup() }
})

test('multi-file: a dangling link under a temporary name is not created through', async () => {
  const { dir, cleanup } = tempDir('symlink-dangling')
  try {
    const out = join(dir, 'out')
    const away = outside(dir)
    mkdirSync(join(out, 'album', 'cd2'), { recursive: true })
    symlinkSync(join(away.path, 'new.bin'), join(out, 'album', 'cd2', 'b.bin.part'))
    const err = await rejection(FileStorage.open(ALBUM.meta, out))
    assert.ok(err instanceof SymlinkRefused, err.message)
    away.unchanged()
  } finally { cleanup() }
})

test('resume: checkExisting does not read through DIR/album -> elsewhere, even when the data there would verify', async () => {
  const { dir, cleanup } = tempDir('symlink-resume')
  try {
    const out = join(dir, 'out')
    const elsewhere = join(dir, 'elsewhere')
    // A complete, correct copy outside: before the fix every piece "verified" through the link.
    await writeAll(ALBUM, await FileStorage.open(ALBUM.meta, elsewhere))
    mkdirSync(out)
    symlinkSync(join(elsewhere, 'album'), join(out, 'album'))
    const err = await rejection(checkExisting(ALBUM.meta, out))
    assert.ok(err instanceof SymlinkRefused, err.message)
    assert.equal(err.message, refusal(join(out, 'album'), out))
  } finally { cleanup() }
})

test('seeding reads through a user\'s links (as create follows them): only verified pieces are served, nothing is written', async () => {
  const { dir, cleanup } = tempDir('symlink-seed')
  try {
    const library = join(dir, 'library')
    await writeAll(ALBUM, await FileStorage.open(ALBUM.meta, library))
    const seedRoot = join(dir, 'seed')
    mkdirSync(join(seedRoot, 'album'), { recursive: true })
    // album/cd1 is a link into the library; album/cd2 a real directory holding a linked file.
    symlinkSync(join(library, 'album', 'cd1'), join(seedRoot, 'album', 'cd1'))
    mkdirSync(join(seedRoot, 'album', 'cd2'))
    symlinkSync(join(library, 'album', 'cd2', 'b.bin'), join(seedRoot, 'album', 'cd2', 'b.bin'))
    const have = await checkExisting(ALBUM.meta, seedRoot, undefined, undefined, { links: 'follow-reads' })
    assert.equal(have.count(), ALBUM.meta.pieceCount, 'every piece verifies through the links')
    const storage = await FileStorage.open(ALBUM.meta, seedRoot, { have, links: 'follow-reads' })
    try {
      for (let i = 0; i < ALBUM.meta.pieceCount; i++) {
        assert.ok(Buffer.from(await storage.read(i, 0, pieceOf(ALBUM, i).length)).equals(Buffer.from(pieceOf(ALBUM, i))), `piece ${i}`)
      }
    } finally { await storage.close() }
    // The download side keeps refusing the same tree.
    assert.ok(await rejection(checkExisting(ALBUM.meta, seedRoot)) instanceof SymlinkRefused)
  } finally { cleanup() }
})

test('resume with --file: an unselected file behind a link is not read; the selected one still verifies', async () => {
  const { dir, cleanup } = tempDir('symlink-unselected')
  try {
    const out = join(dir, 'out')
    const away = outside(dir)
    await writeAll(ALBUM, await FileStorage.open(ALBUM.meta, out, { selection: [0] }))
    symlinkSync(away.path, join(out, 'album', 'cd2'))
    const have = await checkExisting(ALBUM.meta, out, [0])
    // Piece 0 is cd1's alone; piece 1 spans into cd2 and verifies from the side file.
    assert.deepEqual([have.get(0), have.get(1)], [true, true])
    away.unchanged()
  } finally { cleanup() }
})

test('single-file: a link under the file\'s own name or its .part name is refused; the file outside is untouched', async () => {
  const { dir, cleanup } = tempDir('symlink-single')
  try {
    const away = outside(dir)
    const target = join(away.path, 'precious.txt')
    for (const name of ['one.bin', 'one.bin.part']) {
      const out = join(dir, `case-${name}`)
      mkdirSync(out)
      symlinkSync(target, join(out, name))
      const err = await rejection(FileStorage.open(SINGLE.meta, join(out, 'one.bin')))
      assert.equal(err.message, refusal(join(out, name), out), name)
      const check = await rejection(checkExisting(SINGLE.meta, join(out, 'one.bin')))
      assert.equal(check.message, refusal(join(out, name), out), `${name}: resume`)
    }
    away.unchanged()
  } finally { cleanup() }
})

test('the root itself may be a link (the user chose it): multi-file and single-file downloads go through it', async () => {
  const { dir, cleanup } = tempDir('symlink-root')
  try {
    const real = join(dir, 'real')
    mkdirSync(real)
    symlinkSync(real, join(dir, 'link'))
    await writeAll(ALBUM, await FileStorage.open(ALBUM.meta, join(dir, 'link')))
    await writeAll(SINGLE, await FileStorage.open(SINGLE.meta, join(dir, 'link', 'one.bin')))
    assert.deepEqual(listTree(real), ['album/cd1/a.bin', 'album/cd2/b.bin', 'one.bin'])
    const have = await checkExisting(ALBUM.meta, join(dir, 'link'))
    assert.equal(have.count(), ALBUM.meta.pieceCount)
  } finally { cleanup() }
})

test('directoriesBetween: the directories strictly between root and file; a path not below the root is refused', () => {
  assert.deepEqual(directoriesBetween('/r', '/r/a/b/c.bin'), ['/r/a', '/r/a/b'])
  assert.deepEqual(directoriesBetween('/r/', '/r/c.bin'), [])
  assert.throws(() => directoriesBetween('/r', '/r'), /not below/)
  assert.throws(() => directoriesBetween('/r', '/rx/c.bin'), /not below/)
  assert.throws(() => directoriesBetween('/r', '/r/../c.bin'), /not below/)
})
