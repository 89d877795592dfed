import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { HttpTracker } from '../../lib/tracker/http-tracker.js'
import { UdpTracker } from '../../lib/tracker/udp-tracker.js'
import { MAX_PEERS_PER_ANNOUNCE, encodeCompactPeers, formatPeer, type PeerAddress } from '../../lib/tracker/compact.js'
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../lib/tracker/http-tracker.js'
import { Isolated } from '../bencode/isolated.js'
import { NEVER, hostileHttp, hostileUdp, request, udp } from './helpers.js'

const ISOLATED = new URL('./isolated-announce.js', import.meta.url)

/** `count` distinct valid IPv4 peers: 10.a.b.c on port 6881. */
function manyPeers (count: number): PeerAddress[] {
  return Array.from({ length: count }, (_, i) => ({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 6881 }))
}

function assertBounded (peers: readonly PeerAddress[], offered: readonly PeerAddress[]): void {
  assert.equal(peers.length, MAX_PEERS_PER_ANNOUNCE)
  // The first ones, in the tracker's order, each once.
  assert.deepEqual(peers, offered.slice(0, MAX_PEERS_PER_ANNOUNCE))
  assert.equal(new Set(peers.map(formatPeer)).size, peers.length)
}

test('BEP 3: an HTTP tracker answering a negative string length gives a TrackerError in seconds, and the process stands', async (t) => {
  // `bencode` alone loops for ever on these, allocating until Node aborts. The announce runs in
  // a heap-limited worker with a 10 s bound, so a regression fails instead of hanging the suite.
  const bodies: Record<string, string> = {
    'peers as a list holding a string of length -3': 'd5:peersl-3:ee',
    'a list holding a string of length -3': 'l-3:e',
    'a negative length inside the failure reason': 'd14:failure reason-5:abcdee'
  }
  const isolated = await Isolated.open(ISOLATED)
  t.after(async () => { await isolated.close() })
  for (const [name, body] of Object.entries(bodies)) {
    const server = await hostileHttp((_q, res) => res.end(body))
    try {
      const r = await isolated.call<{ peers: number }>('httpAnnounce', [server.url])
      assert.equal(r.ok, false, `${name}: the announce succeeded`)
      if (r.ok) continue
      assert.equal(r.error.name, 'TrackerError', name)
      assert.ok(r.error.message.startsWith(`${server.url}: response is not a bencoded dictionary`), r.error.message)
      assert.match(r.error.message, /invalid bencoding at byte \d+/, name)
    } finally {
      await server.close()
    }
    assert.deepEqual(await isolated.call('alive'), { ok: true, value: 'alive' }, `${name}: the worker is still running`)
  }
})

test('BEP 3: bytes after the bencoded answer (a trailing newline) are ignored with a warning', async () => {
  const server = await hostileHttp((_q, res) => res.end(Buffer.concat([bencode.encode({ interval: 60, peers: Buffer.from(encodeCompactPeers([{ host: '10.0.0.1', port: 1 }])) }), Buffer.from('\n')])))
  try {
    const res = await new HttpTracker(server.url, { timeoutMs: 5000 }).announce(request(), NEVER)
    assert.deepEqual(res.peers, [{ host: '10.0.0.1', port: 1 }])
    assert.deepEqual(res.warnings, ['ignored 1 bytes after the bencoded answer'])
  } finally {
    await server.close()
  }
})

test('BEP 23: an HTTP answer of 170 000 compact peers (1.02 MB, under the 1 MiB cap) succeeds with a bounded peer list', async () => {
  const offered = manyPeers(170_000)
  const body = bencode.encode({ interval: 1800, peers: Buffer.from(encodeCompactPeers(offered)) })
  assert.ok(body.length > 1_000_000 && body.length <= DEFAULT_MAX_RESPONSE_BYTES, `body is ${body.length} bytes`)
  const server = await hostileHttp((_q, res) => res.end(body))
  try {
    const res = await new HttpTracker(server.url, { timeoutMs: 10_000 }).announce(request(), NEVER)
    assertBounded(res.peers, offered)
    assert.deepEqual(res.warnings, [`kept ${MAX_PEERS_PER_ANNOUNCE} peers and ignored ${170_000 - MAX_PEERS_PER_ANNOUNCE} more (at most ${MAX_PEERS_PER_ANNOUNCE} per announce)`])
  } finally {
    await server.close()
  }
})

test('BEP 3 and BEP 7: dictionary peers and peers6 share the same bound', async () => {
  const offered = manyPeers(30_000)
  const v6 = [{ host: '2001:db8::1', port: 6881 }]
  const body = bencode.encode({
    interval: 1800,
    peers: offered.map(p => ({ ip: p.host, port: p.port })),
    peers6: Buffer.from(encodeCompactPeers(v6))
  })
  assert.ok(body.length <= DEFAULT_MAX_RESPONSE_BYTES, `body is ${body.length} bytes`)
  const server = await hostileHttp((_q, res) => res.end(body))
  try {
    const res = await new HttpTracker(server.url, { timeoutMs: 10_000 }).announce(request(), NEVER)
    assertBounded(res.peers, offered)
    assert.deepEqual(res.warnings, [`kept ${MAX_PEERS_PER_ANNOUNCE} peers and ignored ${30_000 - MAX_PEERS_PER_ANNOUNCE + 1} more (at most ${MAX_PEERS_PER_ANNOUNCE} per announce)`])
  } finally {
    await server.close()
  }
})

test('BEP 15: a UDP announce answer as large as a datagram gets (10 914 peers) succeeds with a bounded peer list', async () => {
  // 65 507 bytes is the largest UDP payload over IPv4; 20 go to the header.
  const count = Math.floor((65_507 - 20) / 6)
  const offered = manyPeers(count)
  const peers = encodeCompactPeers(offered)
  const server = await hostileUdp(packet => udp.action(packet) === 0
    ? udp.connectResponse(udp.txid(packet))
    : udp.announceResponse(udp.txid(packet), 1800, peers))
  const tracker = new UdpTracker(server.url, { baseTimeoutMs: 5000, maxRetries: 1 })
  try {
    const res = await tracker.announce(request(), NEVER)
    assertBounded(res.peers, offered)
    assert.deepEqual(res.warnings, [`kept ${MAX_PEERS_PER_ANNOUNCE} peers and ignored ${count - MAX_PEERS_PER_ANNOUNCE} more (at most ${MAX_PEERS_PER_ANNOUNCE} per announce)`])
  } finally {
    tracker.close()
    await server.close()
  }
})
