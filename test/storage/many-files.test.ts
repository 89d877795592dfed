import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { fileURLToPath } from 'node:url'
import { FileHandles } from '../../lib/storage/file-handles.js'
import { prng } from '../helpers.js'
import { listTree, makeTorrent, tempDir, type FileSpec } from './helpers.js'

const CHILD = fileURLToPath(new URL('./kill-child.js', import.meta.url))
const FILES = 3000
/** Far below 3000, above what node itself holds open plus the handle cache's 64. */
const FD_LIMIT = 128

test('open files stay bounded: the handle cache closes the least recently used', async () => {
  const { dir, cleanup } = tempDir('lru')
  try {
    const handles = new FileHandles(dir, 8)
    let peak = 0
    for (let i = 0; i < 200; i++) {
      await handles.use(join(dir, `d${i % 7}`, `f${i}`), true, async fh => { await fh.write(`file ${i}`, 0) })
      peak = Math.max(peak, handles.size)
    }
    assert.equal(peak, 8)
    // Going back to an evicted file reopens it without truncating it.
    await handles.use(join(dir, 'd0', 'f0'), false, async fh => {
      const b = Buffer.alloc(6)
      await fh.read(b, 0, 6, 0)
      assert.equal(b.toString(), 'file 0')
    })
    await handles.closeAll(true)
    assert.equal(handles.size, 0)
    assert.equal(listTree(dir).length, 200)
  } finally { cleanup() }
})

test(`a torrent of ${FILES} tiny files downloads and resume-checks under a ${FD_LIMIT}-descriptor limit (no EMFILE)`, (t) => {
  const rand = prng(77)
  const files: FileSpec[] = Array.from({ length: FILES }, (_, i) => ({ path: [`dir${i % 50}`, `file${i}.txt`], length: Math.floor(rand() * 60) }))
  const fx = makeTorrent('many', files, 16 * 1024, 77)
  const { dir, cleanup } = tempDir('many')
  try {
    const torrent = join(dir, 'x.torrent')
    const payload = join(dir, 'payload.bin')
    const out = join(dir, 'out')
    writeFileSync(torrent, fx.torrent)
    writeFileSync(payload, fx.payload)
    const run = spawnSync('sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, CHILD, torrent, payload, out, '5'], { encoding: 'utf8', timeout: 30000 })
    if (run.error !== undefined) throw run.error
    if (run.status !== 0 && /ulimit/.test(run.stderr)) { t.skip('cannot set ulimit -n here'); return }
    assert.equal(run.status, 0, run.stderr)
    const tree = listTree(out)
    assert.equal(tree.length, FILES)
    for (const f of fx.meta.files) assert.deepEqual(new Uint8Array(readFileSync(join(out, f.path))), fx.contents.get(f.path), f.path)
    // The rerun hashes all 3000 files back under the same limit and has nothing left to write.
    const again = spawnSync('sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, CHILD, torrent, payload, out, '6'], { encoding: 'utf8', timeout: 30000 })
    assert.equal(again.status, 0, again.stderr)
    assert.equal(again.stdout.trim(), `start 0\ndone ${fx.meta.pieceCount}`)
  } finally { cleanup() }
})
