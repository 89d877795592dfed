/**
 * Issue 11 bug 4, as a user meets it: `-o D --file 1` completes file 1; a later `-o D` (every file)
 * must count every piece of file 1 good (its boundary pieces come from the side file), never
 * rename the complete file back to `.part`, even when interrupted; and `-o D --file 1 --seed`
 * seeds every piece it verified, the boundary ones included.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../lib/cli/main.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import type { CheckProgress } from '../../lib/storage/check-existing.js'
import { fakeIO } from '../helpers.js'
import { startFakeSeeder, type FakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent, seededBytes } from '../swarm/fixture-torrent.js'

const PL = 16 * 1024
/** mid.bin (file 1) covers pieces 1..4, sharing piece 1 with a.bin and piece 4 with c.bin. */
const THREE = makeTorrent({ name: 'three', pieceLength: PL, length: 0, files: [{ path: ['a.bin'], length: 20000 }, { path: ['mid.bin'], length: 50000 }, { path: ['c.bin'], length: 30000 }], data: seededBytes(100000, 81) })
const MID = THREE.data.subarray(20000, 70000)
const START_TIMEOUT_MS = 20_000

function setup (t: TestContext): { dir: string, torrent: string, out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bt-cli-widen-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const torrent = join(dir, 'x.torrent')
  writeFileSync(torrent, THREE.torrent)
  return { dir, torrent, out: join(dir, 'D') }
}

async function seeder (t: TestContext): Promise<FakeSeeder> {
  const s = await startFakeSeeder(THREE.meta, THREE.data, { kind: 'honest' })
  t.after(() => s.close())
  return s
}

test('-o D --file 1, then -o D: every piece of file 1 counts good, and an interrupted run leaves file 1 complete', async (t) => {
  const { torrent, out } = setup(t)
  const s = await seeder(t)
  const io = fakeIO()
  const code = await main([torrent, '-o', out, '--file', '1', '--peer', `127.0.0.1:${s.port}`, '--no-trackers', '--no-dht', '--stall-timeout', '20', '--quiet'], io)
  assert.equal(code, 0, io.err())
  assert.ok(readFileSync(join(out, 'three', 'mid.bin')).equals(MID))

  // The wider run, stopped before it fetched anything (no peer given): an interruption.
  const checks: CheckProgress[] = []
  const ac = new AbortController()
  const dl = await downloadToDisk(THREE.meta, out, { trackers: false, dht: false, listen: false, signal: ac.signal, onCheck: p => checks.push(p) })
  const last = checks.at(-1)
  assert.deepEqual({ verified: last?.verified, total: last?.total }, { verified: 4, total: 7 }, 'pieces 1..4: all of mid.bin\'s, boundary ones included')
  assert.equal(dl.progress.resumed, 4 * PL)
  ac.abort()
  await dl.done.catch(() => {})
  await dl.stop()
  assert.ok(existsSync(join(out, 'three', 'mid.bin')), 'the complete file never goes back to .part')
  assert.ok(!existsSync(join(out, 'three', 'mid.bin.part')))

  const again = fakeIO()
  assert.equal(await main([torrent, '-o', out, '--peer', `127.0.0.1:${s.port}`, '--no-trackers', '--no-dht', '--stall-timeout', '20', '--quiet'], again), 0, again.err())
  assert.deepEqual(readdirSync(join(out, 'three')).sort(), ['a.bin', 'c.bin', 'mid.bin'])
  assert.ok(Buffer.concat(['a.bin', 'mid.bin', 'c.bin'].map(f => readFileSync(join(out, 'three', f)))).equals(THREE.data))
  assert.deepEqual(readdirSync(out), ['three'], 'the side file is gone once every file is complete')
})

test('-o D --file 1 --seed: seeds every piece it verified, the boundary pieces from the side file', async (t) => {
  const { dir, torrent, out } = setup(t)
  const origin = await seeder(t)
  const ac = new AbortController()
  t.after(() => ac.abort())
  const io = { ...fakeIO(), signal: ac.signal }
  const exited = main([torrent, '-o', out, '--file', '1', '--seed', '--peer', `127.0.0.1:${origin.port}`, '--host', '127.0.0.1', '--no-trackers', '--no-dht', '--stall-timeout', '20'], io)
  const port = await new Promise<number>((resolve, reject) => {
    const started = Date.now()
    const poll = setInterval(() => {
      const m = /on port (\d+)/.exec(io.err())
      if (m !== null) { clearInterval(poll); resolve(Number(m[1])) }
      if (Date.now() - started > START_TIMEOUT_MS) { clearInterval(poll); reject(new Error(`no port: ${io.err()}`)) }
    }, 20)
    exited.then(code => { clearInterval(poll); reject(new Error(`exited ${code}: ${io.err()}`)) }, reject)
  })
  await origin.close()
  // A leecher wanting mid.bin needs pieces 1..4 from us alone.
  const dl = await downloadToDisk(THREE.meta, join(dir, 'leech'), { files: [1], peers: [{ host: '127.0.0.1', port }], trackers: false, dht: false, listen: false, stallTimeoutMs: 20_000 })
  try { await dl.done } finally { await dl.stop() }
  assert.ok(readFileSync(join(dir, 'leech', 'three', 'mid.bin')).equals(MID))
  ac.abort()
  await exited
})
