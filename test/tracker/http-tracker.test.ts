import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { HttpTracker, announceUrl, parseAnnounceResponse, percentEncodeBytes } from '../../lib/tracker/http-tracker.js'
import { encodeCompactPeers } from '../../lib/tracker/compact.js'
import { TrackerError } from '../../lib/util/errors.js'
import { NEVER, deadTcpPort, hostileHttp, request } from './helpers.js'

const SHORT = { timeoutMs: 1500, maxRedirects: 3, maxResponseBytes: 64 * 1024 }

test('BEP 3: info_hash and peer_id are percent-encoded byte by byte, unreserved bytes kept', () => {
  assert.equal(percentEncodeBytes(Uint8Array.from([0x00, 0x41, 0x7e, 0x20, 0xff, 0x2e])), '%00A~%20%FF.')
  const url = new URL(announceUrl('http://t.example/announce?passkey=x', request({ event: 'completed', trackerId: Uint8Array.from([0x61, 0x20]) })))
  assert.equal(url.searchParams.get('passkey'), 'x')
  for (const [k, v] of [['port', '6881'], ['uploaded', '0'], ['downloaded', '0'], ['left', '1000'], ['compact', '1'],
    ['numwant', '50'], ['key', '1234abcd'], ['event', 'completed'], ['trackerid', 'a ']]) {
    assert.equal(url.searchParams.get(k as string), v, k)
  }
  assert.equal(new URL(announceUrl('http://t.example/a', request({ event: undefined }))).searchParams.has('event'), false)
  // The raw bytes come back out of the query exactly.
  const raw = /info_hash=([^&]*)/.exec(url.search)?.[1] ?? ''
  assert.deepEqual(Buffer.from(unescape(raw), 'latin1'), Buffer.from(request().infoHash))
})

test('BEP 23 compact peers, BEP 7 peers6, interval, min interval, tracker id, warning message', () => {
  const res = parseAnnounceResponse(bencode.encode({
    interval: 900,
    'min interval': 60,
    'tracker id': 'abc',
    'warning message': 'be nice',
    complete: 4,
    incomplete: 2,
    peers: Buffer.from(encodeCompactPeers([{ host: '10.0.0.1', port: 1 }])),
    peers6: Buffer.from(encodeCompactPeers([{ host: '2001:db8::2', port: 2 }]))
  }))
  assert.equal(res.interval, 900)
  assert.equal(res.minInterval, 60)
  assert.equal(Buffer.from(res.trackerId!).toString(), 'abc')
  assert.equal(res.complete, 4)
  assert.equal(res.incomplete, 2)
  assert.deepEqual(res.peers, [{ host: '10.0.0.1', port: 1 }, { host: '2001:db8::2', port: 2 }])
  assert.deepEqual(res.warnings, ['warning message: be nice'])
})

test('BEP 3 dictionary peers are read when the tracker ignores compact=1; bad entries dropped', () => {
  const res = parseAnnounceResponse(bencode.encode({
    interval: 60,
    peers: [{ ip: '10.0.0.1', port: 6881, 'peer id': 'x'.repeat(20) }, { ip: 'peer.example', port: 7 }, { ip: '1.2.3.4', port: 0 }, { port: 5 }, 'junk']
  }))
  assert.deepEqual(res.peers, [{ host: '10.0.0.1', port: 6881 }, { host: 'peer.example', port: 7 }])
  assert.deepEqual(res.warnings, ['dropped 3 invalid peer entries'])
})

test('BEP 3: failure reason rejects with the tracker\'s words', () => {
  assert.throws(() => parseAnnounceResponse(bencode.encode({ 'failure reason': 'unregistered torrent' })), (err: unknown) =>
    err instanceof TrackerError && err.message === 'failure reason: unregistered torrent')
})

test('HTTP announce against hostile servers: each bad answer is a clear TrackerError naming the URL', async (t) => {
  const cases: { name: string, handler: Parameters<typeof hostileHttp>[0], expect: RegExp }[] = [
    { name: 'an HTML error page', handler: (_q, res) => { res.writeHead(502, { 'content-type': 'text/html' }); res.end('<html><body>Bad Gateway</body></html>') }, expect: /HTTP 502 \(37 bytes starting "<html><body>Bad Gateway/ },
    { name: 'garbage', handler: (_q, res) => res.end('hello world'), expect: /not a bencoded dictionary \(11 bytes starting "hello world"\)/ },
    { name: 'truncated bencode', handler: (_q, res) => res.end('d8:intervali1800e5:peers12:abc'), expect: /not a bencoded dictionary/ },
    { name: 'an empty body', handler: (_q, res) => res.end(), expect: /not a bencoded dictionary \(empty body\)/ },
    { name: 'a connection cut mid-body', handler: (_q, res) => { res.writeHead(200, { 'content-length': '100' }); res.write('d8:interval'); setTimeout(() => res.destroy(), 20) }, expect: /closed mid-response|aborted|ECONNRESET/ },
    { name: 'a tracker that never answers', handler: () => {}, expect: /timed out after 1500 ms/ },
    { name: 'a redirect loop', handler: (q, res, base) => { res.writeHead(302, { location: q.url === '/a' ? `${base}/b` : '/a' }); res.end() }, expect: /redirect loop/ },
    { name: 'endless redirects', handler: (q, res) => { res.writeHead(301, { location: `/r${Number(/^\/r(\d+)/.exec(q.url ?? '')?.[1] ?? 0) + 1}` }); res.end() }, expect: /too many redirects \(more than 3\)/ },
    { name: 'a redirect to another scheme', handler: (_q, res) => { res.writeHead(302, { location: 'udp://127.0.0.1:1' }); res.end() }, expect: /redirect to unsupported URL udp:/ },
    { name: 'an oversized streamed body', handler: (_q, res) => { const chunk = Buffer.alloc(16 * 1024, 0x61); const pump = (): void => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump) }; pump(); res.on('error', () => {}) }, expect: /response too large \(over 65536 bytes\)/ },
    { name: 'an oversized declared body', handler: (_q, res) => { res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }); res.write('d'); res.on('error', () => {}) }, expect: /response too large \(Content-Length 10485760/ }
  ]
  for (const c of cases) {
    await t.test(c.name, async () => {
      const server = await hostileHttp(c.handler)
      try {
        const tracker = new HttpTracker(server.url, SHORT)
        await assert.rejects(tracker.announce(request(), NEVER), (err: unknown) => {
          assert.ok(err instanceof TrackerError, String(err))
          assert.ok(err.message.startsWith(server.url + ': '), err.message)
          assert.match(err.message, c.expect)
          return true
        })
      } finally {
        await server.close()
      }
    })
  }
})

test('HTTP announce to a dead port fails fast with ECONNREFUSED', async () => {
  const port = await deadTcpPort()
  const tracker = new HttpTracker(`http://127.0.0.1:${port}/announce`, SHORT)
  await assert.rejects(tracker.announce(request(), NEVER), /ECONNREFUSED/)
})

test('HTTP announce follows a relative redirect and reads the answer', async () => {
  const server = await hostileHttp((q, res) => {
    if (q.url?.startsWith('/announce') === true) { res.writeHead(307, { location: '/real' + (q.url.slice('/announce'.length)) }); res.end(); return }
    res.end(bencode.encode({ interval: 120, peers: Buffer.from(encodeCompactPeers([{ host: '127.0.0.1', port: 7000 }])) }))
  })
  try {
    const res = await new HttpTracker(server.url, SHORT).announce(request(), NEVER)
    assert.deepEqual(res.peers, [{ host: '127.0.0.1', port: 7000 }])
    assert.equal(server.requests.length, 2)
    assert.match(server.requests[1]!, /^\/real\?info_hash=/)
  } finally {
    await server.close()
  }
})

test('an aborted announce rejects at once', async () => {
  const server = await hostileHttp(() => {})
  try {
    const ac = new AbortController()
    const p = new HttpTracker(server.url, SHORT).announce(request(), ac.signal)
    setTimeout(() => ac.abort(), 20)
    await assert.rejects(p, /aborted/)
  } finally {
    await server.close()
  }
})
