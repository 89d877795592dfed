/**
 * BEP 19 web seeds end to end: a torrent whose only source is a local HTTP server with ranges,
 * to stdout (library download()) and to disk (downloadToDisk), byte-identical.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { download } from '../../lib/session/download.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import type { WebSeedEvent } from '../../lib/webseed/web-seeds.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { startRangeServer, withWebSeeds } from './range-server.js'
import { collect } from '../helpers.js'

test('BEP 19 single-file: a web seed alone (URL = the file) streams the torrent to stdout, byte-identical, in few range requests', async (t) => {
  const made = makeTorrent({ length: 3 * 1024 * 1024 + 12345, pieceLength: 64 * 1024, name: 'single.bin' })
  const server = await startRangeServer(new Map([['/files/single.bin', made.data]]))
  t.after(() => server.close())
  const stream = download(withWebSeeds(made.meta, [server.base + 'files/single.bin']), { trackers: false })
  const out = await collect(stream)
  assert.ok(out.equals(made.data), 'the bytes the web seed served, in order')
  assert.equal(stream.progress.verified, made.data.length)
  const blocks = Math.ceil(made.data.length / 16384)
  assert.ok(server.requests.length > 0 && server.requests.every(r => r.status === 206))
  // Coalesced: far fewer HTTP requests than 16 KiB blocks (BEP 19: not one request per block).
  assert.ok(server.requests.length * 4 <= blocks, `${server.requests.length} requests for ${blocks} blocks`)
})

test('BEP 19 single-file: a URL ending in / is a directory, the torrent name is appended (percent-encoded)', async (t) => {
  const made = makeTorrent({ length: 300 * 1024, pieceLength: 32 * 1024, name: 'my file #1.bin' })
  const server = await startRangeServer(new Map([['/pub/my%20file%20%231.bin', made.data]]))
  t.after(() => server.close())
  const out = await collect(download(withWebSeeds(made.meta, [server.base + 'pub/']), { trackers: false }))
  assert.ok(out.equals(made.data))
})

test('BEP 19 multi-file: URL + name + path (each component percent-encoded), ranges split at file boundaries, to disk', async (t) => {
  const files = [
    { path: ['a.bin'], length: 100_000 },
    { path: ['sub dir', 'b?.bin'], length: 7 },
    { path: ['sub dir', 'c#.bin'], length: 250_001 },
    { path: ['empty'], length: 0 },
    { path: ['d.txt'], length: 40_000 }
  ]
  const made = makeTorrent({ length: 0, pieceLength: 32 * 1024, name: 'album ü', files })
  const served = new Map<string, Uint8Array>()
  let at = 0
  for (const f of files) {
    served.set('/mirror/' + ['album ü', ...f.path].map(encodeURIComponent).join('/'), made.data.subarray(at, at + f.length))
    at += f.length
  }
  const server = await startRangeServer(served)
  t.after(() => server.close())
  const dir = mkdtempSync(join(tmpdir(), 'bt-webseed-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // No trailing slash: taken as the directory it must be for a multi-file torrent.
  const dl = await downloadToDisk(withWebSeeds(made.meta, [server.base + 'mirror']), dir, { trackers: false, listen: false })
  t.after(() => dl.stop())
  await dl.done
  at = 0
  for (const f of made.meta.files) {
    assert.ok(readFileSync(join(dir, f.path)).equals(made.data.subarray(at, at + f.length)), f.path)
    at += f.length
  }
  assert.ok(server.requests.every(r => r.status === 206), 'every request was a range the server had')
  // The 7-byte file sits inside one piece with its neighbours: asked for on its own URL.
  assert.ok(server.requests.some(r => r.path.endsWith('/b%3F.bin')))
})

test('BEP 19: a server that answers 404 drops the web seed, and with no other source the download fails at once with the reason', async (t) => {
  const made = makeTorrent({ length: 200 * 1024, pieceLength: 32 * 1024 })
  const server = await startRangeServer(new Map(), { kind: 'not-found' })
  t.after(() => server.close())
  const stream = download(withWebSeeds(made.meta, [server.base + 'x.bin']), { trackers: false })
  const events: WebSeedEvent[] = []
  stream.on('web-seed', e => events.push(e))
  const started = Date.now()
  await assert.rejects(collect(stream), /every web seed failed: web seed http:\/\/127\.0\.0\.1:\d+\/x\.bin dropped: answered 404 Not Found/)
  assert.ok(Date.now() - started < 10_000, 'not after the 60 s stall timeout')
  assert.deepEqual(events.map(e => e.state), ['dropped'])
})

test('BEP 19: url-list entries we cannot use (ftp, garbage) are ignored: the download says it has no source', async () => {
  const made = makeTorrent({ length: 1000, pieceLength: 16384 })
  const stream = download(withWebSeeds(made.meta, ['ftp://example.invalid/x.bin', 'not a url']), { trackers: false })
  await assert.rejects(collect(stream), /trackers are off and no peer was given/)
})

test('webSeeds: false ignores the url-list', async (t) => {
  const made = makeTorrent({ length: 100 * 1024, pieceLength: 32 * 1024 })
  const server = await startRangeServer(new Map([['/x.bin', made.data]]))
  t.after(() => server.close())
  const stream = download(withWebSeeds(made.meta, [server.base + 'x.bin']), { trackers: false, webSeeds: false })
  await assert.rejects(collect(stream), /trackers are off and no peer was given/)
  assert.equal(server.requests.length, 0)
})
