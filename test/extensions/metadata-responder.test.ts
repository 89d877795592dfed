import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MetadataResponder } from '../../lib/extensions/metadata-responder.js'
import { encodeUtMetadata } from '../../lib/extensions/ut-metadata-codec.js'
import { FakePeer, infoDict } from './helpers.js'

const request = (piece: number): Uint8Array => encodeUtMetadata({ type: 'request', piece })

test('BEP 9 request → data with total_size, on the id the peer chose, for every piece', () => {
  const { bytes } = infoDict(2000)
  const responder = new MetadataResponder({ infoBytes: bytes })
  const peer = new FakePeer('p', undefined)
  for (let i = 0; i < 3; i++) responder.onExtended(peer, request(i))
  const got = peer.sent.map(s => s.msg)
  assert.ok(peer.sent.every(s => s.id === 3))
  assert.deepEqual(got.map(m => m.type), ['data', 'data', 'data'])
  const joined = Buffer.concat(got.map(m => m.type === 'data' ? m.data : new Uint8Array()))
  assert.ok(joined.equals(bytes))
  assert.ok(got.every(m => m.type === 'data' && m.totalSize === bytes.length))
})

test('BEP 9: without the entire metadata we MUST reject; it is served once setMetadata gave it', () => {
  const { bytes } = infoDict(10)
  const responder = new MetadataResponder()
  const peer = new FakePeer('p', undefined)
  responder.onExtended(peer, request(0))
  assert.deepEqual(peer.sent[0]?.msg, { type: 'reject', piece: 0 })
  responder.setMetadata(bytes)
  responder.onExtended(peer, request(0))
  assert.equal(peer.sent[1]?.msg.type, 'data')
})

test('BEP 9 bounds: a piece past the end is rejected; flood protection rejects after pieces × factor', () => {
  const { bytes } = infoDict(10) // one piece
  const responder = new MetadataResponder({ infoBytes: bytes, servedFactor: 2 })
  const peer = new FakePeer('p', undefined)
  responder.onExtended(peer, request(1))
  assert.deepEqual(peer.sent[0]?.msg, { type: 'reject', piece: 1 })
  for (let i = 0; i < 3; i++) responder.onExtended(peer, request(0))
  assert.deepEqual(peer.sent.slice(1).map(s => s.msg.type), ['data', 'data', 'reject'])
})

test('BEP 9: data, reject, malformed payloads and peers without ut_metadata get no answer', () => {
  const { bytes } = infoDict(10)
  const responder = new MetadataResponder({ infoBytes: bytes })
  const peer = new FakePeer('p', undefined)
  assert.equal(responder.onExtended(peer, encodeUtMetadata({ type: 'reject', piece: 0 })), false)
  assert.equal(responder.onExtended(peer, Buffer.from('garbage')), false)
  peer.peerExtendedHandshake = { m: { ut_metadata: 0 } }
  assert.equal(responder.onExtended(peer, request(0)), false)
  assert.equal(peer.sent.length, 0)
})

/** A peer that reads nothing: every answer we give it stays queued (`writableBufferedBytes`). */
class UnreadPeer extends FakePeer {
  writableBufferedBytes = 0
  destroying = false
  error: Error | undefined
  override extended (id: number, payload: Uint8Array): boolean {
    this.writableBufferedBytes += 6 + payload.length
    return super.extended(id, payload)
  }

  destroy (err?: Error): void { this.destroying = true; this.error = err }
}

test('BEP 9 flood from a peer that never reads: answers stop at the reply gate\'s cap (rejects too), and past maxDropped it is disconnected', () => {
  const { bytes } = infoDict(2000) // 3 pieces of metadata
  const responder = new MetadataResponder({ infoBytes: bytes, replyLimits: { cap: 40_000, maxDropped: 1000 } })
  const peer = new UnreadPeer('p', undefined)
  for (let i = 0; i < 1_000_000 && !peer.destroying; i++) responder.onExtended(peer, request(i % 4))
  // Two 16 KiB data answers fit under 40 000 bytes, the third crosses it; then nothing more.
  assert.deepEqual(peer.sent.map(s => s.msg.type), ['data', 'data', 'data'])
  assert.ok(peer.writableBufferedBytes < 40_000 + 16_384 + 100)
  assert.equal(peer.destroying, true)
  assert.match(peer.error?.message ?? '', /asks and does not read: 1000 answers dropped/)
})

test('BEP 9 rejects are bounded the same way: a peer flooding us while we lack the metadata gets rejects only up to the cap', () => {
  const responder = new MetadataResponder({ replyLimits: { cap: 1000, maxDropped: 100 } })
  const peer = new UnreadPeer('p', undefined)
  for (let i = 0; i < 100_000 && !peer.destroying; i++) responder.onExtended(peer, request(0))
  assert.ok(peer.sent.every(s => s.msg.type === 'reject'))
  assert.ok(peer.sent.length < 1000 / 20, `${peer.sent.length} rejects queued`)
  assert.equal(peer.destroying, true)
})
