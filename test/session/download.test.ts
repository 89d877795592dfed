/**
 * The library face of the download: a Readable that Node's stream.pipeline accepts, with progress
 * events, and a clear error for what cannot work.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pipeline } from 'node:stream/promises'
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { download, type DownloadProgress } from '../../lib/session/download.js'
import { chunker } from '../../lib/output/chunker.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'

test('stream.pipeline(download(meta), chunker(), fs.createWriteStream(path)) writes the file', async () => {
  const t = makeTorrent({ length: 1024 * 1024 + 3, pieceLength: 32 * 1024 })
  const seeder = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
  const dir = mkdtempSync(join(tmpdir(), 'bt-lib-'))
  try {
    const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false })
    const seen: DownloadProgress[] = []
    stream.on('progress', p => seen.push(p))
    await pipeline(stream, chunker(), createWriteStream(join(dir, 'out')))
    assert.ok(readFileSync(join(dir, 'out')).equals(t.data))
    assert.equal(stream.progress.verified, t.data.length)
    assert.equal(stream.progress.piecesLeft, 0)
    for (const p of seen) assert.equal(p.total, t.data.length)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await seeder.close()
  }
})

test('a torrent with no tracker and no peer given fails at once with a clear error', async () => {
  const t = makeTorrent({ length: 1000, pieceLength: 16384 })
  const stream = download(t.meta)
  await assert.rejects(async () => { for await (const _ of stream) { /* nothing arrives */ } }, /names no tracker and no peer was given/)
})

test('an aborted signal stops the download with a DownloadError', async () => {
  const t = makeTorrent({ length: 1000, pieceLength: 16384 })
  const ac = new AbortController()
  const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: 9 }], trackers: false, signal: ac.signal })
  ac.abort()
  await assert.rejects(async () => { for await (const _ of stream) { /* nothing arrives */ } }, /download aborted/)
})

test('a reader that pauses longer than the stall timeout is not a stall: the download resumes and completes', async () => {
  // Larger than the output's own 1 MiB buffer plus the window, so the pause holds the swarm back.
  const t = makeTorrent({ length: 4 * 1024 * 1024, pieceLength: 32 * 1024 })
  const seeder = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
  try {
    // A 2-piece window and a 1 s stall limit: the window fills at once, then the reader sleeps 3 s.
    const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, windowBytes: 64 * 1024, stallTimeoutMs: 1000 })
    const parts: Buffer[] = []
    let paused = false
    for await (const chunk of stream) {
      parts.push(Buffer.from(chunk as Uint8Array))
      if (!paused) { paused = true; await new Promise(resolve => setTimeout(resolve, 3000)) }
    }
    assert.ok(Buffer.concat(parts).equals(t.data), 'the whole file, after the pause')
  } finally { await seeder.close() }
})

test('download(meta, { signal }) with a signal already aborted fails at once and dials nobody', async () => {
  const t = makeTorrent({ length: 256 * 1024, pieceLength: 32 * 1024 })
  const seeder = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
  try {
    const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, signal: AbortSignal.abort() })
    await assert.rejects(async () => { for await (const _ of stream) { /* nothing may arrive */ } }, /download aborted/)
    assert.equal(seeder.connections(), 0, 'no peer was dialed')
  } finally { await seeder.close() }
})
