/**
 * `bt-stream serve` end to end (issue 15): a loopback swarm, the stream engine, HTTP ranges
 * (RFC 9110 section 14) read back byte-identical, several readers at once, the reader cap, and
 * a reader that hangs up giving its cursor back.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { test } from 'node:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { prng } from '../helpers.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { openStream } from '../../lib/session/stream-engine.js'
import { within } from '../wire/helpers.js'
import { get, seedMade, serveFrom, tempDir, until } from './helpers.js'

const KiB = 1024

/** A random range header for a file of `length` bytes and the bytes it must give. */
function randomRange (rand: () => number, length: number): { header: string, start: number, end: number } {
  const a = Math.floor(rand() * length)
  const b = a + Math.floor(rand() * (length - a))
  switch (Math.floor(rand() * 3)) {
    case 0: return { header: `bytes=${a}-${b}`, start: a, end: b + 1 }
    case 1: return { header: `bytes=${a}-`, start: a, end: length }
    default: {
      const n = 1 + Math.floor(rand() * length)
      return { header: `bytes=-${n}`, start: length - n, end: length }
    }
  }
}

test('random ranges of a single-file torrent over HTTP are byte-identical (206, Content-Range; RFC 9110 14.1.2, 15.3.7)', async (t) => {
  const made = makeTorrent({ length: 3 * 1024 * KiB + 123, pieceLength: 64 * KiB, name: 'movie.mkv' })
  const peer = await seedMade(t, made)
  const { url } = await serveFrom(t, made.meta, [peer])
  const rand = prng(15)
  for (let i = 0; i < 24; i++) {
    const r = randomRange(rand, made.meta.length)
    const reply = await within(20_000, r.header, get(`${url}/0/movie.mkv`, { Range: r.header }))
    assert.equal(reply.status, 206, r.header)
    assert.equal(reply.headers['content-range'], `bytes ${r.start}-${r.end - 1}/${made.meta.length}`)
    assert.equal(reply.headers['content-type'], 'video/x-matroska')
    assert.equal(reply.headers['accept-ranges'], 'bytes')
    assert.ok(reply.body.equals(made.data.subarray(r.start, r.end)), `${r.header}: bytes differ`)
  }
  const whole = await get(`${url}/0`)
  assert.equal(whole.status, 200)
  assert.equal(whole.headers['content-length'], String(made.meta.length))
  assert.ok(whole.body.equals(made.data))
})

test('random ranges of each file of a multi-file torrent are byte-identical; index (HTML, JSON) and playlist list them', async (t) => {
  const files = [
    { path: ['a', 'intro.mp4'], length: 100 * KiB + 7 },
    { path: ['b.srt'], length: 3000 },
    { path: ['c', 'd', 'main feature.webm'], length: 900 * KiB + 1 },
    { path: ['empty.txt'], length: 0 }
  ]
  const made = makeTorrent({ length: 0, pieceLength: 32 * KiB, name: 'show', files })
  const peer = await seedMade(t, made)
  const { url } = await serveFrom(t, made.meta, [peer])
  const rand = prng(7)
  for (const [i, f] of made.meta.files.entries()) {
    const data = made.data.subarray(f.offset, f.offset + f.length)
    if (f.length === 0) {
      const r = await get(`${url}/${i}`)
      assert.equal(r.status, 200)
      assert.equal(r.body.length, 0)
      continue
    }
    for (let k = 0; k < 6; k++) {
      const r = randomRange(rand, f.length)
      const reply = await within(20_000, `${f.path} ${r.header}`, get(`${url}/${i}/whatever-name`, { Range: r.header }))
      assert.equal(reply.status, 206)
      assert.ok(reply.body.equals(data.subarray(r.start, r.end)), `${f.path} ${r.header}`)
    }
  }
  const json = JSON.parse((await get(`${url}/`, { Accept: 'application/json' })).body.toString()) as { files: Array<{ index: number, path: string, url: string, length: number }> }
  assert.deepEqual(json.files.map(f => [f.index, f.path, f.url, f.length]), [
    [0, 'show/a/intro.mp4', '/0/intro.mp4', files[0]!.length],
    [1, 'show/b.srt', '/1/b.srt', 3000],
    [2, 'show/c/d/main feature.webm', '/2/main%20feature.webm', files[2]!.length],
    [3, 'show/empty.txt', '/3/empty.txt', 0]
  ])
  const html = await get(`${url}/`)
  assert.match(String(html.headers['content-type']), /^text\/html/)
  assert.match(html.body.toString(), /main feature\.webm/)
  const m3u = (await get(`${url}/playlist.m3u`)).body.toString()
  assert.deepEqual(m3u.split('\n').filter(l => l.startsWith('http')), [`${url}/0/intro.mp4`, `${url}/2/main%20feature.webm`])
})

test('HEAD gives the headers without a body; 416 for a range past the end; an unknown unit or bad syntax gets 200 (RFC 9110 14.2, 15.5.17)', async (t) => {
  const made = makeTorrent({ length: 200 * KiB, pieceLength: 32 * KiB, name: 'song.flac' })
  const peer = await seedMade(t, made)
  const { url, engine } = await serveFrom(t, made.meta, [peer])
  const head = await get(`${url}/0`, { Range: 'bytes=100-199' }, 'HEAD')
  assert.equal(head.status, 206)
  assert.equal(head.headers['content-length'], '100')
  assert.equal(head.headers['content-type'], 'audio/flac')
  assert.equal(head.body.length, 0)
  assert.equal(engine.readerCount, 0, 'HEAD opens no reader')
  const past = await get(`${url}/0`, { Range: `bytes=${made.meta.length}-` })
  assert.equal(past.status, 416)
  assert.equal(past.headers['content-range'], `bytes */${made.meta.length}`)
  assert.equal((await get(`${url}/0`, { Range: 'bytes=-0' })).status, 416, 'a zero suffix is unsatisfiable')
  for (const header of ['items=0-5', 'bytes=5-2', 'bytes=abc', 'bytes=1-2-3']) {
    const r = await get(`${url}/0`, { Range: header })
    assert.equal(r.status, 200, header)
    assert.equal(r.body.length, made.meta.length)
  }
  const etag = head.headers.etag as string
  assert.equal((await get(`${url}/0`, { Range: 'bytes=0-9', 'If-Range': etag })).status, 206, 'If-Range matching: the range')
  assert.equal((await get(`${url}/0`, { Range: 'bytes=0-9', 'If-Range': '"other"' })).status, 200, 'If-Range not matching: the whole file')
  assert.equal((await get(`${url}/9`)).status, 404)
  assert.equal((await get(`${url}/0`, {}, 'POST')).status, 405)
})

test('two readers at different offsets at once both get their bytes', async (t) => {
  const made = makeTorrent({ length: 4 * 1024 * KiB, pieceLength: 64 * KiB, name: 'a.mp4' })
  const peer = await seedMade(t, made, { maxUploadRate: 2 * 1024 * KiB })
  const { url } = await serveFrom(t, made.meta, [peer])
  const [x, y] = await within(30_000, 'two readers', Promise.all([
    get(`${url}/0`, { Range: 'bytes=3000000-3999999' }),
    get(`${url}/0`, { Range: 'bytes=100000-1099999' })
  ]))
  assert.ok(x.body.equals(made.data.subarray(3000000, 4000000)))
  assert.ok(y.body.equals(made.data.subarray(100000, 1100000)))
})

test('readers beyond the cap get 503 with Retry-After; a reader that hangs up frees its slot and its cursor', async (t) => {
  const made = makeTorrent({ length: 1024 * KiB, pieceLength: 64 * KiB, name: 'half.mkv' })
  // A partial seed: the second half never comes, so readers there wait as long as they are open.
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'honest' }, { pieces: 8 })
  t.after(() => seeder.close())
  const { url, server, engine } = await serveFrom(t, made.meta, [{ host: '127.0.0.1', port: seeder.port }], { http: { maxReaders: 2 } })
  const waiting = [0, 1].map(k => request(`${url}/0`, { headers: { Range: `bytes=${600 * KiB + k}-` }, agent: false }))
  for (const req of waiting) { req.on('error', () => {}); req.end() }
  t.after(() => { for (const req of waiting) req.destroy() })
  await until(10_000, 'two readers open', () => server.activeReaders === 2)
  assert.equal(engine.download.swarm.picker.cursorCount, 2)
  const third = await get(`${url}/0`, { Range: 'bytes=700000-' })
  assert.equal(third.status, 503)
  assert.equal(third.headers['retry-after'], '1')
  assert.ok((await get(`${url}/0`, { Range: 'bytes=0-9' }, 'HEAD')).status === 206, 'HEAD needs no reader slot')
  waiting[0]!.destroy()
  await until(10_000, 'the reader that hung up is gone', () => server.activeReaders === 1 && engine.download.swarm.picker.cursorCount === 1)
  assert.equal(engine.download.swarm.picker.isUrgent(600 * KiB / (64 * KiB)), true, 'the other reader is still urgent')
  waiting[1]!.destroy()
  await until(10_000, 'every cursor freed', () => server.activeReaders === 0 && engine.download.swarm.picker.cursorCount === 0)
  const first = await get(`${url}/0`, { Range: 'bytes=0-99' })
  assert.ok(first.body.equals(made.data.subarray(0, 100)), 'the server still serves')
})

test('without a directory the cache lives under the temporary directory and close() removes it', async (t) => {
  const made = makeTorrent({ length: 100 * KiB, pieceLength: 32 * KiB, name: 'x.bin' })
  const peer = await seedMade(t, made)
  const engine = await openStream(made.meta, { peers: [peer], trackers: false, dht: false, listen: false })
  t.after(() => engine.close())
  assert.ok(engine.cacheDir !== undefined && engine.cacheDir.includes(made.meta.infoHashHex))
  const parts: Buffer[] = []
  for await (const c of engine.createReadStream(undefined, { start: 10, end: 50_000 })) parts.push(Buffer.from(c as Uint8Array))
  assert.ok(Buffer.concat(parts).equals(made.data.subarray(10, 50_000)))
  assert.ok(existsSync(engine.cacheDir))
  await engine.close()
  assert.equal(existsSync(engine.cacheDir), false)
})

test('a directory that holds the whole torrent is served with no peer at all (resumed, read back from disk)', async (t) => {
  const made = makeTorrent({ length: 500 * KiB + 1, pieceLength: 32 * KiB, name: 'done.mkv' })
  const peer = await seedMade(t, made)
  const dir = await tempDir(t)
  const first = await openStream(made.meta, { dir, peers: [peer], trackers: false, dht: false, listen: false })
  await until(20_000, 'the first run completes', () => first.complete)
  await first.close()
  assert.ok(existsSync(join(dir, 'done.mkv')), 'with a directory the data stays')
  const { url, engine } = await serveFrom(t, made.meta, [], { engine: { dir } })
  assert.equal(engine.cacheDir, undefined)
  for (const [a, b] of [[0, 10], [100_000, 400_000], [made.meta.length - 5, made.meta.length]] as const) {
    const r = await within(10_000, `${a}-${b}`, get(`${url}/0`, { Range: `bytes=${a}-${b - 1}` }))
    assert.ok(r.body.equals(made.data.subarray(a, b)), `${a}-${b}`)
  }
})
