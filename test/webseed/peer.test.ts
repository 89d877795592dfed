/**
 * The web seed on its own in a Swarm (no session around it): HTTPS, timeouts and backoff, and the
 * URL mapping, Content-Range and Retry-After parsing as pure functions.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { Swarm, type PieceSink } from '../../lib/swarm/swarm.js'
import type { VerifiedPiece } from '../../lib/output/merging-writable.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { startWebSeeds, type WebSeedEvent, type WebSeedsOptions } from '../../lib/webseed/web-seeds.js'
import { fileUrl, usableWebSeeds } from '../../lib/webseed/url.js'
import { parseContentRange, retryAfterMs } from '../../lib/webseed/http-range.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'

/** A swarm with web seeds only, its pieces put together in a buffer. */
function webSeedSwarm (meta: Metainfo, opts: WebSeedsOptions): { done: Promise<Buffer>, swarm: Swarm } {
  const out = Buffer.alloc(meta.length)
  let finish!: () => void
  let fail!: (err: Error) => void
  const done = new Promise<Buffer>((resolve, reject) => { finish = () => resolve(out); fail = reject })
  const sink: PieceSink = {
    write: (p: VerifiedPiece) => { out.set(p.data, p.index * meta.pieceLength); return true },
    end: () => finish(),
    destroy: (err?: Error) => { if (err !== undefined) fail(err) }
  }
  const swarm = new Swarm({ meta, peerId: new Uint8Array(20).fill(7), sink, connect: async () => { throw new Error('no peers here') }, stallTimeoutMs: 30_000 })
  startWebSeeds(swarm, meta, opts)
  swarm.start()
  return { done, swarm }
}

function serveRanges (data: Uint8Array) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!
    const start = Number(m[1])
    const end = Number(m[2])
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': end - start + 1 })
    res.end(data.subarray(start, end + 1))
  }
}

test('BEP 19 over HTTPS: the web seed fetches through node:https with keep-alive', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-webseed-tls-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  } catch {
    t.skip('openssl is not available to make a test certificate')
    return
  }
  const cert = readFileSync(join(dir, 'cert.pem'))
  const made = makeTorrent({ length: 2 * 1024 * 1024 + 100, pieceLength: 64 * 1024 })
  let connections = 0
  let requests = 0
  const sockets = new Set<Socket>()
  const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => { requests++; serveRanges(made.data)(req, res) })
  server.on('secureConnection', s => { connections++; sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/x.bin`
  const { done } = webSeedSwarm({ ...made.meta, urlList: [url] }, { peer: { tls: { ca: cert } } })
  assert.ok((await done).equals(made.data))
  assert.ok(connections <= 4 && connections < requests, `${requests} requests over ${connections} TLS connections`)
})

test('BEP 19: a server that never answers is cut at the idle timeout, and after 3 failures the web seed backs off', async (t) => {
  const made = makeTorrent({ length: 256 * 1024, pieceLength: 64 * 1024 })
  const sockets = new Set<Socket>()
  const server = createHttpServer(() => { /* never answers */ })
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  const events: WebSeedEvent[] = []
  let busy!: () => void
  const backedOff = new Promise<void>(resolve => { busy = resolve })
  const { swarm } = webSeedSwarm({ ...made.meta, urlList: [`http://127.0.0.1:${(server.address() as { port: number }).port}/x.bin`] }, {
    peer: { idleTimeoutMs: 200, backoffBaseMs: 60_000 },
    onEvent: e => { events.push(e); if (e.state === 'busy') busy() }
  })
  t.after(() => swarm.stop())
  await backedOff
  const failures = events.filter(e => e.state === 'active')
  assert.ok(failures.length >= 3 && failures.every(e => /no answer for 200 ms/.test(e.reason ?? '')), JSON.stringify(events))
  assert.equal(events.at(-1)?.retryInMs !== undefined && events.at(-1)!.retryInMs! > 50_000, true, 'the first backoff, as configured')
})

test('BEP 19 URL mapping: single-file URL is the file, or a directory + name; multi-file: URL + name + path, percent-encoded', () => {
  const single = { multiFile: false }
  const multi = { multiFile: true }
  assert.equal(fileUrl('http://m/pub/file.iso', single, { rawPath: ['other name.iso'] }), 'http://m/pub/file.iso')
  assert.equal(fileUrl('http://m/pub/', single, { rawPath: ['a b#?.iso'] }), 'http://m/pub/a%20b%23%3F.iso')
  assert.equal(fileUrl('http://mirror.com/pub/', multi, { rawPath: ['michael', 'Readme.txt'] }), 'http://mirror.com/pub/michael/Readme.txt', 'the BEP\'s own example')
  assert.equal(fileUrl('http://mirror.com/pub', multi, { rawPath: ['n', 'a/b', 'ü'] }), 'http://mirror.com/pub/n/a%2Fb/%C3%BC')
})

test('BEP 19: only http(s) URLs are used, once each', () => {
  assert.deepEqual(usableWebSeeds(['ftp://x/f', 'http://a/f', 'nonsense', 'https://b/f#frag', 'http://a/f', 'file:///etc/passwd']), ['http://a/f', 'https://b/f'])
})

test('Content-Range and Retry-After (RFC 9110) are read as servers send them', () => {
  assert.deepEqual(parseContentRange('bytes 0-99/1000'), { start: 0, end: 100, total: 1000 })
  assert.deepEqual(parseContentRange('bytes 5-9/*'), { start: 5, end: 10, total: undefined })
  assert.equal(parseContentRange('bytes */1000'), undefined)
  assert.equal(retryAfterMs('120'), 120_000)
  assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:30 GMT')), 30_000)
  assert.equal(retryAfterMs('soon'), undefined)
  assert.equal(retryAfterMs(undefined), undefined)
})
