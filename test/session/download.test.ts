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
import { Writable } from 'node:stream'
import { download, type DownloadProgress, type DownloadStream } from '../../lib/session/download.js'
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

/**
 * Piped straight into a file, the download lends its piece memory to it (no copy of each byte)
 * and reuses a piece once the file's writes of it completed. The small window makes every piece
 * buffer hold many pieces' bytes in turn, so a chunk kept by anyone sees them change.
 */
test('pipeline(download(meta), createWriteStream(path)) lends to the file: the file is exact and piece memory is reused', async () => {
  const t = makeTorrent({ length: 1024 * 1024 + 5, pieceLength: 32 * 1024 })
  const seeder = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
  const dir = mkdtempSync(join(tmpdir(), 'bt-lib-'))
  try {
    const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, windowBytes: 64 * 1024 })
    await pipeline(stream, createWriteStream(join(dir, 'out')))
    assert.ok(readFileSync(join(dir, 'out')).equals(t.data))
    assert.equal(stream.merger.lends, true, 'a file borrows')
    assert.equal(stream.merger.lentBytes, 0, 'every lent piece came back')
    assert.ok(buffersOf(stream).reused > 0, 'piece memory was reused')
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await seeder.close()
  }
})

test('a \'data\' listener beside a file that borrows gets copies: the chunks it keeps never change', async () => {
  const t = makeTorrent({ length: 1024 * 1024 + 5, pieceLength: 32 * 1024 })
  const seeder = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
  const dir = mkdtempSync(join(tmpdir(), 'bt-lib-'))
  try {
    const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, windowBytes: 64 * 1024 })
    const kept: Uint8Array[] = []
    stream.on('data', chunk => { kept.push(chunk) })
    await pipeline(stream, createWriteStream(join(dir, 'out')))
    assert.equal(stream.merger.lends, true)
    assert.ok(buffersOf(stream).reused > 0, 'piece memory was reused under the kept chunks')
    assert.ok(Buffer.concat(kept).equals(t.data), 'what the listener kept is still the file')
    assert.ok(readFileSync(join(dir, 'out')).equals(t.data))
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await seeder.close()
  }
})

test('a Writable of the user that keeps every chunk gets copies, never lent memory', async () => {
  const t = makeTorrent({ length: 1024 * 1024 + 5, pieceLength: 32 * 1024 })
  const seeder = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
  try {
    const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, windowBytes: 64 * 1024 })
    const kept: Uint8Array[] = []
    await pipeline(stream, new Writable({ write (chunk: Uint8Array, _enc, cb) { kept.push(chunk); cb() } }))
    assert.equal(stream.merger.lends, false)
    assert.ok(buffersOf(stream).reused > 0, 'piece memory was reused under the kept chunks')
    assert.ok(Buffer.concat(kept).equals(t.data))
  } finally {
    await seeder.close()
  }
})

test('chunkBytes: chunks of at most that size, whole pieces when it is as large; the bytes unchanged', async () => {
  const t = makeTorrent({ length: 1024 * 1024 + 5, pieceLength: 32 * 1024 })
  const seeder = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
  try {
    for (const [chunkBytes, expected] of [[1024 * 1024, 32 * 1024], [10_000, 10_000]] as const) {
      const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, chunkBytes })
      const sizes: number[] = []
      const kept: Uint8Array[] = []
      await pipeline(stream, new Writable({ write (chunk: Uint8Array, _enc, cb) { sizes.push(chunk.byteLength); kept.push(chunk); cb() } }))
      assert.ok(Buffer.concat(kept).equals(t.data), `chunkBytes ${chunkBytes}: the file's bytes`)
      assert.equal(Math.max(...sizes), expected, `chunkBytes ${chunkBytes}: largest chunk`)
    }
  } finally {
    await seeder.close()
  }
})

test('chunkBytes that is not a positive whole number is a RangeError', () => {
  const t = makeTorrent({ length: 1000, pieceLength: 16384 })
  for (const chunkBytes of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => download(t.meta, { peers: [{ host: '127.0.0.1', port: 1 }], trackers: false, chunkBytes }), RangeError)
  }
})

/** The swarm's piece buffer pool (private: what these tests need to see reuse). */
function buffersOf (stream: DownloadStream): { reused: number } {
  return (stream.swarm as unknown as { buffers: { reused: number } }).buffers
}
