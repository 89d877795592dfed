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
