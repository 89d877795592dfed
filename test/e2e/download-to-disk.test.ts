/**
 * `-o PATH` end to end: webtorrent seeders (no one here wrote them) through a real tracker into a
 * directory tree, and the CLI killed with SIGKILL mid-download then rerun to the exact bytes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { seededBytes, makeTorrent } from '../swarm/fixture-torrent.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { startLocalSwarm } from './local-swarm.js'

const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname

test('-o DIR: a multi-file torrent from webtorrent seeders lands as its tree, byte-identical', async () => {
  const files = [
    { name: 'a.bin', data: seededBytes(300_001, 21) },
    { name: 'b.bin', data: seededBytes(1_000_003, 22) },
    { name: 'c.txt', data: seededBytes(4_321, 23) }
  ]
  const swarm = await startLocalSwarm(files, { seeders: 2, pieceLength: 64 * 1024, name: 'album' })
  const dir = mkdtempSync(join(tmpdir(), 'bt-disk-'))
  try {
    const dl = await downloadToDisk(swarm.meta, dir, { stallTimeoutMs: 30_000, listenHost: '127.0.0.1' })
    await dl.done
    await dl.stop()
    for (const f of files) assert.ok(readFileSync(join(dir, 'album', f.name)).equals(f.data), f.name)
    assert.deepEqual(readdirSync(join(dir, 'album')).sort(), ['a.bin', 'b.bin', 'c.txt'], 'no .part or side file left')
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await swarm.close()
  }
})

test('-o PATH killed with SIGKILL mid-download, then rerun: the exact file, only the rest fetched', async () => {
  const data = seededBytes(6 * 1024 * 1024 + 99, 24)
  const t = makeTorrent({ length: data.length, pieceLength: 64 * 1024, data })
  // Slow enough that the kill lands mid-download on any machine.
  const seeder = await startFakeSeeder(t.meta, data, { kind: 'slow', delayMs: 3 })
  const dir = mkdtempSync(join(tmpdir(), 'bt-disk-'))
  try {
    const torrent = join(dir, 'x.torrent')
    const out = join(dir, 'x.bin')
    writeFileSync(torrent, t.torrent)
    const args = [BIN, torrent, '-o', out, '--no-trackers', '--peer', `127.0.0.1:${seeder.port}`, '--host', '127.0.0.1', '--quiet']
    const child = spawn(process.execPath, args, { stdio: 'ignore' })
    // Kill once some of it is on disk.
    for (let i = 0; i < 600; i++) {
      if (existsSync(out + '.part') && statSync(out + '.part').size > 1024 * 1024) break
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    const closed = new Promise(resolve => child.once('close', resolve))
    child.kill('SIGKILL')
    await closed
    assert.equal(existsSync(out), false, 'an incomplete file is never under its final name')
    const sentBefore = seeder.sent()
    const rerun = spawn(process.execPath, args, { stdio: 'ignore' })
    const code = await new Promise(resolve => rerun.once('close', resolve))
    assert.equal(code, 0)
    assert.ok(readFileSync(out).equals(data), 'byte-identical after resume')
    assert.ok(seeder.sent() - sentBefore < t.meta.pieceCount * 4, 'the rerun fetched less than the whole torrent')
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await seeder.close()
  }
})
