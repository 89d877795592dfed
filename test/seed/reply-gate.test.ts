import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PexTracker } from '../../lib/extensions/pex-tracker.js'
import { broadcastHave } from '../../lib/seed/have-broadcast.js'
import { mayReply, QUEUED_MESSAGE_COST, REPLY_BACKLOG_CAP, replyBacklog } from '../../lib/seed/reply-gate.js'
import { ProtocolError } from '../../lib/util/errors.js'
import { PeerConnection } from '../../lib/wire/peer-connection.js'
import { socketPair } from '../wire/helpers.js'

/** A connection whose backlog the test sets. */
class Backlogged {
  writableBufferedBytes = 0
  writableBufferedMessages = 0
  destroying = false
  error: Error | undefined
  destroy (err?: Error): void { this.destroying = true; this.error = err }
}

/** A connection for PexTracker, with a backlog the test sets. */
class PexConn {
  readonly peerExtendedHandshake = { m: { ut_pex: 9 } as Record<string, number> }
  writableBufferedBytes = 0
  destroyed = false
  sent = 0
  extended (): boolean { this.sent++; return true }
  destroy (): void { this.destroyed = true }
}

test('reply gate: under the cap every answer goes; at the cap answers are dropped; past maxDropped in a row the peer is dropped', () => {
  const c = new Backlogged()
  assert.equal(mayReply(c, { cap: 1000, maxDropped: 3 }), true)
  c.writableBufferedBytes = 1000
  for (let i = 0; i < 3; i++) assert.equal(mayReply(c, { cap: 1000, maxDropped: 3 }), false)
  assert.equal(c.destroying, false, 'three drops in a row: still connected')
  assert.equal(mayReply(c, { cap: 1000, maxDropped: 3 }), false)
  assert.ok(c.error instanceof ProtocolError)
  assert.match(c.error.message, /asks and does not read: 3 answers dropped in a row, 1000 bytes waiting/)
  assert.equal(mayReply(c, { cap: 1000, maxDropped: 3 }), false, 'a closing connection gets nothing')
})

test('reply gate: a peer that reads (the backlog falls under the cap) starts its count of drops over', () => {
  const c = new Backlogged()
  for (let round = 0; round < 5; round++) {
    c.writableBufferedBytes = 2000
    for (let i = 0; i < 3; i++) assert.equal(mayReply(c, { cap: 1000, maxDropped: 3 }), false)
    c.writableBufferedBytes = 10
    assert.equal(mayReply(c, { cap: 1000, maxDropped: 3 }), true)
  }
  assert.equal(c.destroying, false)
})

test('reply gate: small messages weigh their heap cost, not only their wire bytes', () => {
  const c = new Backlogged()
  c.writableBufferedBytes = 17 * 100
  c.writableBufferedMessages = 100
  assert.equal(replyBacklog(c), 100 * (17 + QUEUED_MESSAGE_COST))
})

test('reply gate on a PeerConnection: what it wrote and its socket did not take counts, and leaves once the peer reads', async (t) => {
  const { a, b, close } = await socketPair()
  t.after(close)
  const ours = new PeerConnection(a, { infoHash: new Uint8Array(20), pieceCount: 10, fast: true })
  const theirs = new PeerConnection(b, { accept: () => true, pieceCount: 10, fast: true })
  ours.on('error', () => {})
  theirs.on('error', () => {})
  t.after(() => { ours.destroy(); theirs.destroy() })
  await Promise.all([new Promise(resolve => ours.once('handshake', resolve)), new Promise(resolve => theirs.once('handshake', resolve))])
  // They stop reading: their socket pauses once their messages pile up, then the kernel fills.
  b.pause()
  const block = new Uint8Array(16384)
  let sent = 0
  while (mayReply(ours)) { ours.piece(0, 0, block); sent++ }
  assert.ok(replyBacklog(ours) >= REPLY_BACKLOG_CAP)
  assert.ok(sent * 16384 < REPLY_BACKLOG_CAP + 16 * 1024 * 1024, `the cap held after ${sent} blocks (kernel buffers took the rest)`)
  // They read again: the backlog drains and answers go again.
  theirs.resume()
  b.resume()
  for (let i = 0; i < 500 && !mayReply(ours); i++) await new Promise(resolve => setTimeout(resolve, 10))
  assert.equal(mayReply(ours), true)
})

test('BEP 11 PEX (sent on our own initiative, once a minute) skips a peer that has not read what we sent, and tells it the difference once it reads', () => {
  let now = 0
  const pex = new PexTracker<PexConn>({ onPeers: () => {}, now: () => now })
  const slow = new PexConn()
  const other = new PexConn()
  pex.connected(slow, { host: '10.0.0.1', port: 6881, outgoing: true })
  pex.connected(other, { host: '10.0.0.2', port: 6881, outgoing: true })
  slow.writableBufferedBytes = REPLY_BACKLOG_CAP
  assert.equal(pex.sendDue(), 1, 'only the peer that reads')
  assert.equal(slow.sent, 0)
  assert.equal(mayReply(slow), false, 'the backlog is what the gate sees')
  now += 120_000
  slow.writableBufferedBytes = 0
  assert.equal(pex.sendDue(), 1, 'the other peer knows everything already')
  assert.equal(slow.sent, 1)
})

test('BEP 3 have (sent on our own initiative, once per piece) skips a peer that has not read what we sent', () => {
  const target = (backlog: number): { destroying: boolean, peerPieces: undefined, writableBufferedBytes: number, told: number[], have: (i: number) => boolean } => ({
    destroying: false, peerPieces: undefined, writableBufferedBytes: backlog, told: [], have (i) { this.told.push(i); return true }
  })
  const reads = target(0)
  const stuck = target(REPLY_BACKLOG_CAP)
  assert.equal(broadcastHave([reads, stuck], 7), 1)
  assert.deepEqual([reads.told, stuck.told], [[7], []])
})
