/**
 * resolveOutput: one rule for what PATH means to `-o PATH` and `seed x.torrent PATH` (the table in
 * lib/storage/output-path.ts), case by case.
 */
import assert from 'node:assert/strict'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { outputAt, resolveOutput } from '../../lib/storage/output-path.js'
import { StorageError } from '../../lib/util/errors.js'
import { makeTorrent, tempDir } from './helpers.js'

const PL = 16 * 1024
const ONE = makeTorrent('one.iso', 3 * PL + 5, PL, 3)
const ALBUM = makeTorrent('album', [{ path: ['cd1', 'a.bin'], length: PL + 1 }, { path: ['b.bin'], length: 100 }], PL, 4)

test('single file: an existing directory holds it (DIR/NAME); a file, or nothing, is the file\'s own path; a trailing / means a directory', async () => {
  const { dir, cleanup } = tempDir('out')
  try {
    for (const purpose of ['download', 'seed'] as const) {
      assert.deepEqual(await resolveOutput(ONE.meta, dir, purpose), { root: dir, payload: join(dir, 'one.iso') }, purpose)
      assert.deepEqual(await resolveOutput(ONE.meta, join(dir, 'new.iso'), purpose), { root: dir, payload: join(dir, 'new.iso') })
      writeFileSync(join(dir, 'have.iso'), 'x')
      assert.deepEqual(await resolveOutput(ONE.meta, join(dir, 'have.iso'), purpose), { root: dir, payload: join(dir, 'have.iso') })
      assert.deepEqual(await resolveOutput(ONE.meta, join(dir, 'later') + '/', purpose), { root: join(dir, 'later'), payload: join(dir, 'later', 'one.iso') })
    }
    // The directory may be a symlink: the user's choice, followed.
    mkdirSync(join(dir, 'real'))
    symlinkSync(join(dir, 'real'), join(dir, 'link'))
    assert.deepEqual(await resolveOutput(ONE.meta, join(dir, 'link')), { root: join(dir, 'link'), payload: join(dir, 'link', 'one.iso') })
  } finally { cleanup() }
})

test('several files: a directory holds NAME (DIR/NAME/...), created when missing; a file is refused', async () => {
  const { dir, cleanup } = tempDir('out')
  try {
    for (const purpose of ['download', 'seed'] as const) {
      assert.deepEqual(await resolveOutput(ALBUM.meta, dir, purpose), { root: dir, payload: join(dir, 'album') })
      assert.deepEqual(await resolveOutput(ALBUM.meta, join(dir, 'new'), purpose), { root: join(dir, 'new'), payload: join(dir, 'new', 'album') })
      writeFileSync(join(dir, 'f'), 'x')
      await assert.rejects(resolveOutput(ALBUM.meta, join(dir, 'f'), purpose), (err: Error) => err instanceof StorageError && /is a file; "album" has several files and needs a directory/.test(err.message))
    }
    assert.deepEqual(outputAt(ALBUM.meta, dir), { root: dir, payload: join(dir, 'album') }, 'a string given to FileStorage.open keeps its literal meaning')
  } finally { cleanup() }
})

test('several files: the NAME directory itself (what `create` read) is the payload when the files are directly in it', async () => {
  const { dir, cleanup } = tempDir('out')
  try {
    const album = join(dir, 'album')
    mkdirSync(join(album, 'cd1'), { recursive: true })
    writeFileSync(join(album, 'b.bin'), 'x')
    for (const purpose of ['download', 'seed'] as const) {
      assert.deepEqual(await resolveOutput(ALBUM.meta, album, purpose), { root: album, payload: album }, purpose)
      assert.deepEqual(await resolveOutput(ALBUM.meta, dir, purpose), { root: dir, payload: album }, 'its parent still holds it')
    }
    // A .part counts: a download resumed in place.
    const partial = join(dir, 'p', 'album')
    mkdirSync(join(partial, 'cd1'), { recursive: true })
    writeFileSync(join(partial, 'cd1', 'a.bin.part'), 'x')
    assert.deepEqual(await resolveOutput(ALBUM.meta, partial), { root: partial, payload: partial })
  } finally { cleanup() }
})

test('several files: a directory under another name holding the files is the payload for a seeder only; a download never writes into it', async () => {
  const { dir, cleanup } = tempDir('out')
  try {
    const renamed = join(dir, 'My Album (2024)')
    mkdirSync(renamed)
    writeFileSync(join(renamed, 'b.bin'), 'x')
    assert.deepEqual(await resolveOutput(ALBUM.meta, renamed, 'seed'), { root: renamed, payload: renamed })
    assert.deepEqual(await resolveOutput(ALBUM.meta, renamed, 'download'), { root: renamed, payload: join(renamed, 'album') }, 'like ~/Downloads holding a b.bin of its own')
    // Found nowhere: DIR holds NAME (the seeder then says nothing verifies at DIR/NAME).
    mkdirSync(join(dir, 'empty'))
    assert.deepEqual(await resolveOutput(ALBUM.meta, join(dir, 'empty'), 'seed'), { root: join(dir, 'empty'), payload: join(dir, 'empty', 'album') })
  } finally { cleanup() }
})

test('several files: a torrent with a NAME/NAME folder of its own, given its NAME directory, is still read in place', async () => {
  const NESTED = makeTorrent('album', [{ path: ['album', 'x.bin'], length: 10 }, { path: ['y.bin'], length: 10 }], PL, 5)
  const { dir, cleanup } = tempDir('out')
  try {
    const album = join(dir, 'album')
    mkdirSync(join(album, 'album'), { recursive: true })
    writeFileSync(join(album, 'album', 'x.bin'), 'x')
    writeFileSync(join(album, 'y.bin'), 'y')
    for (const purpose of ['download', 'seed'] as const) {
      assert.deepEqual(await resolveOutput(NESTED.meta, album, purpose), { root: album, payload: album }, purpose)
      assert.deepEqual(await resolveOutput(NESTED.meta, dir, purpose), { root: dir, payload: album })
    }
  } finally { cleanup() }
})
