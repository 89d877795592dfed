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
