import assert from 'node:assert/strict'
import { test } from 'node:test'
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
