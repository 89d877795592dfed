/**
 * `-o PATH` end to end: webtorrent seeders (no one here wrote them) through a real tracker into a
 * directory tree, and the CLI killed with SIGKILL mid-download then rerun to the exact bytes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { seededBytes, makeTorrent } from '../swarm/fixture-torrent.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { startLocalSwarm } from './local-swarm.js'
import { within } from '../wire/helpers.js'

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

test('-o PATH killed with SIGKILL mid-download, then rerun: the exact file, only the rest fetched', async (t) => {
  const data = seededBytes(6 * 1024 * 1024 + 99, 24)
  const made = makeTorrent({ length: data.length, pieceLength: 64 * 1024, data })
  const meta = made.meta
  // Slow enough that the kill lands mid-download on any machine.
  const seeder = await startFakeSeeder(meta, data, { kind: 'slow', delayMs: 3 })
  t.after(() => seeder.close())
  const dir = mkdtempSync(join(tmpdir(), 'bt-disk-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const children: ChildProcess[] = []
  t.after(() => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL') })
  const torrent = join(dir, 'x.torrent')
  const out = join(dir, 'x.bin')
  writeFileSync(torrent, made.torrent)
  const args = [BIN, torrent, '-o', out, '--no-trackers', '--peer', `127.0.0.1:${seeder.port}`, '--host', '127.0.0.1', '--quiet']
  const child = spawn(process.execPath, args, { stdio: 'ignore' })
  children.push(child)
  const closed = new Promise(resolve => child.once('close', resolve))
  // Kill once a good part of it is on disk (and never silently after the download ended).
  await within(60_000, `${KILL_AT_BYTES} bytes in ${out}.part`, (async () => {
    while (!(existsSync(out + '.part') && statSync(out + '.part').size > KILL_AT_BYTES)) {
      assert.equal(child.exitCode, null, 'the first run ended before the kill: nothing left to resume')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  })())
  child.kill('SIGKILL')
  await closed
  assert.equal(existsSync(out), false, 'an incomplete file is never under its final name')
  // Which pieces survived, by our own hashing (not the code under test): those must not be fetched again.
  const kept = piecesOnDisk(out + '.part', data, meta.pieceLength)
  const keptBlocks = kept.reduce((n, i) => n + blocksIn(meta, i), 0)
  const allBlocks = Array.from({ length: meta.pieceCount }, (_, i) => blocksIn(meta, i)).reduce((a, b) => a + b, 0)
  assert.ok(kept.length >= 8, `only ${kept.length} pieces verified on disk before the kill`)
  const sentBefore = seeder.sent()
  const rerun = spawn(process.execPath, args, { stdio: 'ignore' })
  children.push(rerun)
  const code = await within(120_000, 'the rerun', new Promise(resolve => rerun.once('close', resolve)))
  assert.equal(code, 0)
  assert.ok(readFileSync(out).equals(data), 'byte-identical after resume')
  const fetched = seeder.sent() - sentBefore
  t.diagnostic(`${kept.length} of ${meta.pieceCount} pieces kept; the rerun fetched ${fetched} of ${allBlocks} blocks`)
  assert.ok(fetched <= allBlocks - keptBlocks, `the rerun fetched ${fetched} blocks; at most ${allBlocks - keptBlocks} were missing`)
})

/** Bytes on disk past which the first run is killed: 16 pieces of 64 KiB, several hundred ms at 3 ms a block. */
const KILL_AT_BYTES = 1024 * 1024

/** Indexes of the pieces whose bytes in `path` equal the source's. */
function piecesOnDisk (path: string, data: Buffer, pieceLength: number): number[] {
  const disk = readFileSync(path)
  const kept: number[] = []
  for (let at = 0, i = 0; at < data.length; at += pieceLength, i++) {
    const end = Math.min(data.length, at + pieceLength)
    if (end <= disk.length && disk.subarray(at, end).equals(data.subarray(at, end))) kept.push(i)
  }
  return kept
}

/** Blocks of 16 KiB (BEP 3's request size) in piece `index`. */
function blocksIn (meta: Metainfo, index: number): number {
  const length = index === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength
  return Math.ceil(length / BLOCK)
}
const BLOCK = 16 * 1024
