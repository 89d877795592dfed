/**
 * End to end: our download against seeders no one here wrote (webtorrent), found through a real
 * tracker (bittorrent-tracker), all on loopback. Output must be byte-identical.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { download } from '../../lib/session/download.js'
import { seededBytes } from '../swarm/fixture-torrent.js'
import { startLocalSwarm } from './local-swarm.js'
import { collect } from '../helpers.js'
import { within } from '../wire/helpers.js'


test('single file from three webtorrent seeders via the tracker; piece size does not divide the file', async () => {
  const data = seededBytes(5 * 1024 * 1024 + 12345, 1)
  const swarm = await startLocalSwarm([{ name: 'movie.bin', data }], { seeders: 3, pieceLength: 256 * 1024 })
  try {
    assert.notEqual(swarm.meta.lastPieceLength, swarm.meta.pieceLength)
    const stream = download(swarm.meta, { stallTimeoutMs: 30_000 })
    const out = await collect(stream)
    assert.ok(out.equals(data), 'byte-identical')
    await stream.stopped
  } finally {
    await swarm.close()
  }
})

test('--file picks one file of a multi-file torrent; only the pieces it needs are fetched', async () => {
  const files = [
    { name: 'a.bin', data: seededBytes(300_000, 2) },
    { name: 'b.bin', data: seededBytes(1_000_003, 3) },
    { name: 'c.bin', data: seededBytes(700_000, 4) }
  ]
  const swarm = await startLocalSwarm(files, { seeders: 2, pieceLength: 64 * 1024, name: 'album' })
  try {
    const index = swarm.meta.files.findIndex(f => f.path.endsWith('b.bin'))
    assert.notEqual(index, -1)
    const stream = download(swarm.meta, { file: index, stallTimeoutMs: 30_000 })
    const out = await collect(stream)
    assert.ok(out.equals(files[1]!.data), 'byte-identical to b.bin')
    const f = swarm.meta.files[index]!
    const needed = Math.floor((f.offset + f.length - 1) / swarm.meta.pieceLength) - Math.floor(f.offset / swarm.meta.pieceLength) + 1
    assert.equal(stream.progress.verified, needed * swarm.meta.pieceLength, 'no piece outside the file was fetched')
    await stream.stopped
  } finally {
    await swarm.close()
  }
})

test('a download much larger than the window, read slowly: the process holds about the window, not the download', async (t) => {
  const data = seededBytes(DOWNLOAD_BYTES, 5)
  const swarm = await startLocalSwarm([{ name: 'big.bin', data }], { seeders: 2, pieceLength: 256 * 1024 })
  t.after(() => swarm.close())
  const dir = mkdtempSync(join(tmpdir(), 'bt-window-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const torrent = join(dir, 'big.torrent')
  writeFileSync(torrent, swarm.torrent)
  // In a child process of its own, so the seeders' copies of the data are not in the measure.
  const child = spawn(process.execPath, ['--expose-gc', CHILD, torrent, String(WINDOW_BYTES)], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await within(120_000, 'the download child', new Promise(resolve => child.once('close', resolve)))
  assert.equal(code, 0, stderr)
  const r = JSON.parse(stdout) as { sha1: string, bytes: number, baseline: number, peak: number }
  assert.equal(r.bytes, data.length)
  assert.equal(r.sha1, createHash('sha1').update(data).digest('hex'), 'byte-identical')
  const held = r.peak - r.baseline
  t.diagnostic(`peak live buffers ${(held / 2 ** 20).toFixed(1)} MiB above the start, window ${WINDOW_BYTES / 2 ** 20} MiB, download ${DOWNLOAD_BYTES / 2 ** 20} MiB`)
  assert.ok(held <= WINDOW_BYTES + IN_FLIGHT_ALLOWANCE, `the process held ${held} bytes of buffers, more than the window ${WINDOW_BYTES} + ${IN_FLIGHT_ALLOWANCE}`)
})

const CHILD = new URL('./memory-child.js', import.meta.url).pathname
const DOWNLOAD_BYTES = 48 * 1024 * 1024
const WINDOW_BYTES = 2 * 1024 * 1024
/**
 * Beyond the window: pieces being assembled and blocks requested from the two seeders (a few
 * 256 KiB pieces each), socket buffers and the reader's chunk. Well under the download, so an
 * engine that fetches past its window (tens of MiB held) fails.
 */
const IN_FLIGHT_ALLOWANCE = 8 * 1024 * 1024
