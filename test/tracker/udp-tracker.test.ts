import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UdpTracker } from '../../lib/tracker/udp-tracker.js'
import { encodeCompactPeers } from '../../lib/tracker/compact.js'
import { TrackerError } from '../../lib/util/errors.js'
import { NEVER, bytes20, deadUdpPort, hostileUdp, request, udp } from './helpers.js'

/** Short waits so a silent tracker costs 200 + 400 ms here, not BEP 15's 15 + 30 s. */
const FAST = { baseTimeoutMs: 200, maxRetries: 1 }
/** For trackers that answer: only a 5 s stall of a loaded machine would resend, so exact packet sequences hold. */
const ANSWERED = { baseTimeoutMs: 5000, maxRetries: 1 }
const PEER = encodeCompactPeers([{ host: '127.0.0.1', port: 7001 }])

/** A well-behaved BEP 15 tracker: connect, then announce answered with one peer. */
const honest = (packet: Buffer): Buffer => udp.action(packet) === 0
  ? udp.connectResponse(udp.txid(packet))
  : udp.announceResponse(udp.txid(packet), 600, PEER)

test('BEP 15: connect, then a 98-byte announce carrying the connection id, the hashes and the event', async () => {
  const server = await hostileUdp(honest)
  const tracker = new UdpTracker(server.url, ANSWERED)
  try {
    const res = await tracker.announce(request({ event: 'completed', left: 0, uploaded: 5, downloaded: 2 ** 40 }), NEVER)
    assert.deepEqual(res.peers, [{ host: '127.0.0.1', port: 7001 }])
    assert.equal(res.interval, 600)
    assert.equal(res.incomplete, 3)
    assert.equal(res.complete, 7)
    const [connect, announce] = server.received
    assert.equal(connect!.length, 16)
    assert.equal(connect!.readBigUInt64BE(0), 0x41727101980n)
    assert.equal(announce!.length, 98)
    assert.deepEqual(announce!.subarray(0, 8), Buffer.from('0102030405060708', 'hex'))
    assert.equal(announce!.readUInt32BE(8), 1)
    assert.deepEqual(announce!.subarray(16, 36), Buffer.from(bytes20(1)))
    assert.deepEqual(announce!.subarray(36, 56), Buffer.from(bytes20(2)))
    assert.equal(announce!.readBigUInt64BE(56), 2n ** 40n)
    assert.equal(announce!.readBigUInt64BE(64), 0n)
    assert.equal(announce!.readBigUInt64BE(72), 5n)
    assert.equal(announce!.readUInt32BE(80), 1) // completed
    assert.equal(announce!.readUInt32BE(88), 0x1234abcd)
    assert.equal(announce!.readInt32BE(92), 50)
    assert.equal(announce!.readUInt16BE(96), 6881)
  } finally {
    tracker.close()
    await server.close()
  }
})

test('BEP 15: a connection id is reused within its minute and requested again after it', async () => {
  const server = await hostileUdp(honest)
  const reusing = new UdpTracker(server.url, ANSWERED)
  const expiring = new UdpTracker(server.url, { ...ANSWERED, connectionIdTtlMs: 0 })
  try {
    await reusing.announce(request(), NEVER)
    await reusing.announce(request({ event: undefined }), NEVER)
    assert.deepEqual(server.received.map(udp.action), [0, 1, 1])
    server.received.length = 0
    await expiring.announce(request(), NEVER)
    await new Promise(resolve => setTimeout(resolve, 5))
    await expiring.announce(request({ event: undefined }), NEVER)
    assert.deepEqual(server.received.map(udp.action), [0, 1, 0, 1])
  } finally {
    reusing.close()
    expiring.close()
    await server.close()
  }
})

test('BEP 15 time outs: an unanswered request is sent again, with a new transaction id', async () => {
  const server = await hostileUdp((packet, i) => i === 0 ? undefined : honest(packet))
  // Retries to spare: a loaded machine may answer the resent connect late and cause another.
  const tracker = new UdpTracker(server.url, { ...FAST, maxRetries: 4 })
  try {
    const res = await tracker.announce(request(), NEVER)
    assert.equal(res.peers.length, 1)
    const actions = server.received.map(udp.action)
    assert.deepEqual(actions.slice(0, 2), [0, 0], 'the unanswered connect is sent again')
    assert.equal(actions.at(-1), 1)
    assert.notEqual(udp.txid(server.received[0]!), udp.txid(server.received[1]!))
  } finally {
    tracker.close()
    await server.close()
  }
})

test('BEP 15: a wrong transaction id and a runt packet are ignored while we keep waiting', async () => {
  const server = await hostileUdp(packet => {
    const good = honest(packet)
    const wrong = Buffer.from(good)
    wrong.writeUInt32BE((udp.txid(packet) + 1) >>> 0, 4)
    return [wrong, Buffer.from([1, 2, 3]), good]
  })
  const tracker = new UdpTracker(server.url, ANSWERED)
  try {
    assert.equal((await tracker.announce(request(), NEVER)).peers.length, 1)
  } finally {
    tracker.close()
    await server.close()
  }
})

test('BEP 15 IPv6: over a v6 socket the peers are 18 bytes each', async () => {
  const v6peers = encodeCompactPeers([{ host: '::1', port: 7002 }, { host: '2001:db8::5', port: 7003 }])
  const server = await hostileUdp(packet => udp.action(packet) === 0
    ? udp.connectResponse(udp.txid(packet))
    : udp.announceResponse(udp.txid(packet), 600, v6peers), '::1')
  const tracker = new UdpTracker(server.url, ANSWERED)
  try {
    const res = await tracker.announce(request(), NEVER)
    assert.deepEqual(res.peers, [{ host: '::1', port: 7002 }, { host: '2001:db8::5', port: 7003 }])
  } finally {
    tracker.close()
    await server.close()
  }
})

test('BEP 15 scrape: seeders, completed, leechers per info hash', async () => {
  const server = await hostileUdp(packet => {
    if (udp.action(packet) === 0) return udp.connectResponse(udp.txid(packet))
    const b = Buffer.alloc(8 + 24)
    b.writeUInt32BE(2, 0)
    b.writeUInt32BE(udp.txid(packet), 4)
    ;[5, 10, 2, 0, 1, 3].forEach((v, i) => b.writeUInt32BE(v, 8 + 4 * i))
    return b
  })
  const tracker = new UdpTracker(server.url, ANSWERED)
  try {
    const res = await tracker.scrape([bytes20(1), bytes20(3)], NEVER)
    assert.deepEqual(res, [{ complete: 5, downloaded: 10, incomplete: 2 }, { complete: 0, downloaded: 1, incomplete: 3 }])
    assert.equal(server.received[1]!.length, 16 + 40)
  } finally {
    tracker.close()
    await server.close()
  }
})

test('UDP announce against hostile trackers: each gives a clear TrackerError naming the URL', async (t) => {
  const cases: { name: string, handler: Parameters<typeof hostileUdp>[0], expect: RegExp }[] = [
    { name: 'error action (3) carries the tracker\'s message', handler: p => udp.errorResponse(udp.txid(p), 'torrent not registered'), expect: /tracker error: torrent not registered$/ },
    { name: 'a connect response too short', handler: p => udp.connectResponse(udp.txid(p)).subarray(0, 12), expect: /response too short \(12 bytes\)/ },
    { name: 'an announce response too short', handler: p => udp.action(p) === 0 ? udp.connectResponse(udp.txid(p)) : udp.announceResponse(udp.txid(p), 1, new Uint8Array(0)).subarray(0, 16), expect: /response too short \(16 bytes\)/ },
    { name: 'the wrong action', handler: p => udp.announceResponse(udp.txid(p), 1, new Uint8Array(0)), expect: /wrong action 1 in response \(expected 0\)/ },
    { name: 'a tracker that never answers', handler: () => undefined, expect: /timed out after 2 attempts \(600 ms\)$/ },
    { name: 'only wrong transaction ids', handler: p => { const b = udp.connectResponse(udp.txid(p)); b.writeUInt32BE((udp.txid(p) ^ 1) >>> 0, 4); return b }, expect: /timed out after 2 attempts \(600 ms\); ignored 2 packet/ }
  ]
  for (const c of cases) {
    await t.test(c.name, async () => {
      const server = await hostileUdp(c.handler)
      const tracker = new UdpTracker(server.url, FAST)
      try {
        await assert.rejects(tracker.announce(request(), NEVER), (err: unknown) => {
          assert.ok(err instanceof TrackerError, String(err))
          assert.ok(err.message.startsWith(server.url + ': '), err.message)
          assert.match(err.message, c.expect)
          return true
        })
      } finally {
        tracker.close()
        await server.close()
      }
    })
  }
})

test('UDP announce to a dead port reports the refusal instead of waiting', async () => {
  const port = await deadUdpPort()
  const tracker = new UdpTracker(`udp://127.0.0.1:${port}`, { baseTimeoutMs: 5000, maxRetries: 0 })
  try {
    await assert.rejects(tracker.announce(request(), NEVER), /connection refused/)
  } finally {
    tracker.close()
  }
})

test('UDP announce: abort and close end a pending request', async () => {
  const server = await hostileUdp(() => undefined)
  const tracker = new UdpTracker(server.url, { baseTimeoutMs: 5000, maxRetries: 0 })
  try {
    const ac = new AbortController()
    const p = tracker.announce(request(), ac.signal)
    setTimeout(() => ac.abort(), 20)
    await assert.rejects(p, /aborted/)
    const q = tracker.announce(request(), NEVER)
    setTimeout(() => tracker.close(), 20)
    await assert.rejects(q, /tracker closed/)
  } finally {
    tracker.close()
    await server.close()
  }
})
