/**
 * Web seeds that misbehave (BEP 19 with RFC 9110 ranges): lying data, a server that ignores
 * Range, 503 with Retry-After, a body cut mid-way. Each one is backed off or dropped with its
 * reason, and the output stays right.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { download } from '../../lib/session/download.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import type { PeerAddress } from '../../lib/tracker/compact.js'
import type { WebSeedEvent } from '../../lib/webseed/web-seeds.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { startRangeServer, withWebSeeds } from './range-server.js'
import { collect } from '../helpers.js'

const BLOCK = 16384

test('BEP 19: a web seed whose data fails SHA-1 is banned like a peer, and the honest peer beside it completes the download', async (t) => {
  const made = makeTorrent({ length: 2 * 1024 * 1024, pieceLength: 64 * 1024 })
  const server = await startRangeServer(new Map([['/x.bin', made.data]]), { kind: 'corrupt' })
  t.after(() => server.close())
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(() => seeder.close())
  const url = server.base + 'x.bin'
  const stream = download(withWebSeeds(made.meta, [url]), { trackers: false, peers: [{ host: '127.0.0.1', port: seeder.port }] })
  const banned: Array<[PeerAddress, string]> = []
  const events: WebSeedEvent[] = []
  stream.on('peer-banned', (addr, why) => banned.push([addr, why]))
  stream.on('web-seed', e => events.push(e))
  const out = await collect(stream)
  assert.ok(out.equals(made.data), 'only verified bytes reach the output')
  assert.equal(banned.length, 1)
  assert.deepEqual(banned[0]![0], { host: url, port: 0 })
  assert.match(banned[0]![1], /SHA-1/)
  assert.deepEqual(events.map(e => [e.state, e.reason]), [['dropped', banned[0]![1]]])
  assert.ok(stream.progress.hashFailures >= 1)
})

test('BEP 19: a server that ignores Range (200 with the whole file) is dropped at once with that reason', async (t) => {
  const made = makeTorrent({ length: 4 * 1024 * 1024, pieceLength: 64 * 1024 })
  const server = await startRangeServer(new Map([['/x.bin', made.data]]), { kind: 'ignore-range' })
  t.after(() => server.close())
  const stream = download(withWebSeeds(made.meta, [server.base + 'x.bin']), { trackers: false })
  await assert.rejects(collect(stream), /every web seed failed: .*dropped: ignores Range requests \(answered 200 with the whole file\)/)
  assert.equal(stream.progress.downloaded, 0, 'not one byte of the whole-file body was taken')
})

test('BEP 19: a server that ignores Range is dropped, the peer beside it completes the download', async (t) => {
  const made = makeTorrent({ length: 1024 * 1024, pieceLength: 64 * 1024 })
  const server = await startRangeServer(new Map([['/x.bin', made.data]]), { kind: 'ignore-range' })
  t.after(() => server.close())
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(() => seeder.close())
  const out = await collect(download(withWebSeeds(made.meta, [server.base + 'x.bin']), { trackers: false, peers: [{ host: '127.0.0.1', port: seeder.port }] }))
  assert.ok(out.equals(made.data))
})

test('BEP 19: 503 with Retry-After: the web seed waits that long, then serves the download', async (t) => {
  const made = makeTorrent({ length: 1024 * 1024, pieceLength: 64 * 1024 })
  const server = await startRangeServer(new Map([['/x.bin', made.data]]), { kind: 'busy', times: 1, seconds: 1 })
  t.after(() => server.close())
  const stream = download(withWebSeeds(made.meta, [server.base + 'x.bin']), { trackers: false })
  const events: WebSeedEvent[] = []
  stream.on('web-seed', e => events.push(e))
  const out = await collect(stream)
  assert.ok(out.equals(made.data))
  assert.equal(events[0]?.state, 'busy')
  assert.match(events[0]?.reason ?? '', /503 Service Unavailable, Retry-After 1 s/)
  assert.equal(events[1]?.state, 'active')
  const [busy, next] = server.requests
  assert.equal(busy?.status, 503)
  // Retry-After honoured: the next request no sooner than 1 s later (a little slack for timers).
  assert.ok(next !== undefined && next.at - busy!.at >= 950, `asked again after ${next!.at - busy!.at} ms`)
})

test('BEP 19: a web seed busy longer than the stall timeout: the stall message says so', async (t) => {
  const made = makeTorrent({ length: 256 * 1024, pieceLength: 64 * 1024 })
  const server = await startRangeServer(new Map([['/x.bin', made.data]]), { kind: 'busy', times: 1000, seconds: 30 })
  t.after(() => server.close())
  const stream = download(withWebSeeds(made.meta, [server.base + 'x.bin']), { trackers: false, stallTimeoutMs: 1000 })
  await assert.rejects(collect(stream), /no data for 1 s from 1 connected peers \(1 choking us\); web seed http:\/\/127\.0\.0\.1:\d+\/x\.bin busy \(503 Service Unavailable, Retry-After 30 s\), asked again in \d+ s/)
})

test('BEP 19: a body cut mid-way: whole blocks received are kept, the rest is asked again, the output is right', async (t) => {
  const made = makeTorrent({ length: 2 * 1024 * 1024, pieceLength: 64 * 1024 })
  const server = await startRangeServer(new Map([['/x.bin', made.data]]), { kind: 'cut', times: 1 })
  t.after(() => server.close())
  const stream = download(withWebSeeds(made.meta, [server.base + 'x.bin']), { trackers: false })
  const events: WebSeedEvent[] = []
  stream.on('web-seed', e => events.push(e))
  const out = await collect(stream)
  assert.ok(out.equals(made.data))
  assert.match(events.map(e => e.reason).join(), /closed the body \d+ bytes short/)
  const cut = server.requests[0]!
  const m = /^bytes=(\d+)-(\d+)$/.exec(cut.range ?? '')!
  const start = Number(m[1])
  const kept = Math.floor((Number(m[2]) + 1 - start) / 2 / BLOCK) * BLOCK
  // The next ask for that region starts after the whole blocks that arrived before the cut.
  assert.ok(server.requests.slice(1).some(r => r.range?.startsWith(`bytes=${start + kept}-`) === true), JSON.stringify(server.requests.map(r => r.range)))
})

test('BEP 19: a web seed on a thin line does not hold the stream back: the peer beside it takes the blocks it is slow with', async (t) => {
  // Larger than the stdout window (16 MiB), so the download is not all endgame.
  const made = makeTorrent({ length: 40 * 1024 * 1024, pieceLength: 256 * 1024 })
  // 1 KiB per 20 ms: ~50 KiB/s; alone it would take 14 minutes.
  const server = await startRangeServer(new Map([['/x.bin', made.data]]), { kind: 'slow', delayMs: 20 })
  t.after(() => server.close())
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(() => seeder.close())
  const started = Date.now()
  const out = await collect(download(withWebSeeds(made.meta, [server.base + 'x.bin']), { trackers: false, peers: [{ host: '127.0.0.1', port: seeder.port }] }))
  assert.ok(out.equals(made.data))
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`)
  assert.ok(server.requests.length > 0, 'the web seed was asked too')
})

test('BEP 19 multi-file: a mirror without one of the files is kept for the others; that file comes from the peer (to disk)', async (t) => {
  const files = [{ path: ['a.bin'], length: 3 * 1024 * 1024 + 1 }, { path: ['b.bin'], length: 1024 * 1024 }, { path: ['c.bin'], length: 3 * 1024 * 1024 }]
  const made = makeTorrent({ length: 0, pieceLength: 64 * 1024, name: 'album', files })
  const served = new Map<string, Uint8Array>([
    ['/m/album/a.bin', made.data.subarray(0, files[0]!.length)],
    ['/m/album/c.bin', made.data.subarray(files[0]!.length + files[1]!.length)]
  ])
  const server = await startRangeServer(served)
  t.after(() => server.close())
  // A slow peer: without the web seed the download would take ~10 s, so the seed must serve a and c.
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'slow', delayMs: 20 })
  t.after(() => seeder.close())
  const dir = mkdtempSync(join(tmpdir(), 'bt-webseed-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const dl = await downloadToDisk(withWebSeeds(made.meta, [server.base + 'm/']), dir, { trackers: false, listen: false, peers: [{ host: '127.0.0.1', port: seeder.port }] })
  t.after(() => dl.stop())
  const events: WebSeedEvent[] = []
  dl.on('web-seed', e => events.push(e))
  await dl.done
  let at = 0
  for (const f of made.meta.files) {
    assert.ok(readFileSync(join(dir, f.path)).equals(made.data.subarray(at, at + f.length)), f.path)
    at += f.length
  }
  assert.match(events.map(e => e.reason).join('\n'), /lacks album\/b\.bin \(answered 404 Not Found\): used for the other files/)
  assert.ok(events.every(e => e.state === 'active'), 'never dropped')
  const missing = server.requests.filter(r => r.path.endsWith('/b.bin'))
  assert.ok(missing.length >= 1 && missing.length <= 4, `${missing.length} requests for the missing file (at most one per lane, before it was known)`)
  const lastMiss = Math.max(...missing.map(r => r.at))
  assert.ok(server.requests.some(r => r.status === 206 && r.at >= lastMiss), 'the mirror served the other files after the 404')
})
