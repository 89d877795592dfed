import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { fileURLToPath } from 'node:url'
import { createDiskSink, type DiskSink } from '../../lib/storage/disk-sink.js'
import { FaultyStorage } from '../../lib/storage/faulty-storage.js'
import { FileStorage } from '../../lib/storage/file-storage.js'
import { StorageError } from '../../lib/util/errors.js'
import { listTree, makeTorrent, pieceOf, tempDir, type Fixture } from './helpers.js'

const PL = 16 * 1024

/** Feeds every wanted piece to the sink and resolves with the error it was destroyed with. */
async function failure (fx: Fixture, sink: DiskSink, wanted: (i: number) => boolean = () => true): Promise<Error> {
  const ended = new Promise<Error>((resolve, reject) => {
    sink.on('error', resolve)
    sink.on('finish', () => reject(new Error('the sink finished although the storage failed')))
  })
  for (let i = 0; i < fx.meta.pieceCount && !sink.destroying; i++) {
    if (!wanted(i)) continue
    if (!sink.write({ index: i, data: pieceOf(fx, i) })) await new Promise<void>(resolve => { sink.once('drain', () => resolve()); sink.once('close', () => resolve()) })
  }
  if (!sink.destroying) sink.end()
  return await ended
}

function oneLine (err: Error): void {
  assert.ok(err instanceof StorageError, `${err.name}: ${err.message}`)
  assert.ok(!err.message.includes('\n'), 'one line')
}

test('no space left (real ENOSPC on a 64 KiB tmpfs): one-line StorageError naming the file, no partial file under its final name', async (t) => {
  const { dir, cleanup } = tempDir('enospc')
  const mnt = join(dir, 'mnt')
  mkdirSync(mnt)
  try {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore', timeout: 5000 })
    } catch {
      t.skip('cannot mount a tmpfs here (not root?); the FaultyStorage test covers ENOSPC')
      return
    }
    try {
      const fx = makeTorrent('big.bin', 20 * PL, PL, 6)
      const storage = await FileStorage.open(fx.meta, join(mnt, 'big.bin'))
      const err = await failure(fx, createDiskSink(storage))
      oneLine(err)
      assert.match(err.message, /^cannot write ".*big\.bin\.part": no space left on device \(ENOSPC\)$/)
      assert.equal(existsSync(join(mnt, 'big.bin')), false, 'the partial file stays under its .part name')
    } finally {
      execFileSync('umount', [mnt], { stdio: 'ignore', timeout: 5000 })
    }
  } finally { cleanup() }
})

test('no space and no permission through a fault layer: the sink is destroyed with that StorageError', async () => {
  for (const [code, words] of [['ENOSPC', 'no space left on device'], ['EACCES', 'permission denied']] as const) {
    const { dir, cleanup } = tempDir('faulty')
    try {
      const fx = makeTorrent('f.bin', 10 * PL, PL, 7)
      const target = join(dir, 'f.bin')
      const storage = await FileStorage.open(fx.meta, target)
      const err = await failure(fx, createDiskSink(new FaultyStorage(storage, { code, afterWrites: 3, path: target + '.part' })))
      oneLine(err)
      assert.equal(err.message, `cannot write ${JSON.stringify(target + '.part')}: ${words} (${code})`)
      assert.deepEqual(listTree(dir), ['f.bin.part'])
    } finally { cleanup() }
  }
})

test('a file where a directory must be (real ENOTDIR): one-line StorageError when the storage opens, before any download', async () => {
  const fx = makeTorrent('album', [{ path: ['ok.bin'], length: 100 }, { path: ['sub', 'x.bin'], length: 3 * PL }], PL, 8)
  const { dir, cleanup } = tempDir('enotdir')
  try {
    mkdirSync(join(dir, 'album'))
    writeFileSync(join(dir, 'album/sub'), 'a file, not a directory')
    const err = await FileStorage.open(fx.meta, dir).then(() => new Error('opened'), (e: Error) => e)
    oneLine(err)
    assert.match(err.message, /^cannot write ".*album\/sub\/x\.bin": a parent of this path is a file, not a directory \(ENOTDIR\)$/)
    assert.deepEqual(listTree(dir), ['album/sub'], 'nothing written')
  } finally { cleanup() }
})

test('a directory where the file must go (real EISDIR): one-line StorageError when the storage opens, before any download', async () => {
  const fx = makeTorrent('d.bin', 2 * PL, PL, 9)
  const { dir, cleanup } = tempDir('eisdir')
  try {
    const target = join(dir, 'd.bin')
    mkdirSync(join(target, 'occupied'), { recursive: true })
    const err = await FileStorage.open(fx.meta, target).then(() => new Error('opened'), (e: Error) => e)
    oneLine(err)
    assert.equal(err.message, `cannot use ${JSON.stringify(target)}: a directory is in the way (EISDIR)`)
  } finally { cleanup() }
})

test('a symlink under a file\'s name is never written through (it could point outside the root)', async () => {
  const fx = makeTorrent('album', [{ path: ['x.bin'], length: 100 }], PL, 10)
  const { dir, cleanup } = tempDir('symlink')
  try {
    const outside = join(dir, 'outside.txt')
    writeFileSync(outside, 'precious')
    mkdirSync(join(dir, 'out', 'album'), { recursive: true })
    symlinkSync(outside, join(dir, 'out', 'album', 'x.bin.part'))
    const err = await FileStorage.open(fx.meta, join(dir, 'out')).then(() => new Error('opened'), (e: Error) => e)
    oneLine(err)
    assert.equal(err.message, `${JSON.stringify(join(dir, 'out', 'album', 'x.bin.part'))} is a symbolic link; refusing to follow it outside ${JSON.stringify(join(dir, 'out'))}`)
    assert.equal(readFileSync(outside, 'utf8'), 'precious')
  } finally { cleanup() }
})

test('no permission (real EACCES: an unprivileged child writing into a root-owned directory): one-line StorageError', async (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to start a child as another user'); return }
  const fx = makeTorrent('locked', [{ path: ['x.bin'], length: 3 * PL }], PL, 12)
  const { dir, cleanup } = tempDir('eacces')
  try {
    chmodSync(dir, 0o755)
    const torrent = join(dir, 'x.torrent')
    const payload = join(dir, 'payload.bin')
    writeFileSync(torrent, fx.torrent, { mode: 0o644 })
    writeFileSync(payload, fx.payload, { mode: 0o644 })
    const out = join(dir, 'out')
    mkdirSync(out, { mode: 0o755 })
    const child = fileURLToPath(new URL('./kill-child.js', import.meta.url))
    const run = spawnSync(process.execPath, [child, torrent, payload, out, '1'], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 20000 })
    if (run.error !== undefined) { t.skip(`cannot start a child as nobody: ${run.error.message}`); return }
    assert.equal(run.status, 1)
    assert.equal(run.stderr, `kill-child: cannot write ${JSON.stringify(join(out, 'locked/x.bin.part'))}: permission denied (EACCES)\n`)
    assert.deepEqual(listTree(out), [])
  } finally { cleanup() }
})
