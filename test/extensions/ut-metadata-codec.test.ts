import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeUtMetadata, encodeUtMetadata, metadataPieceCount, metadataPieceLength } from '../../lib/extensions/ut-metadata-codec.js'
import { EXTENSION_IDS, ourExtensions } from '../../lib/extensions/extension-ids.js'
import { ProtocolError } from '../../lib/util/errors.js'

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

test('BEP 9 request/reject: the exact bytes of the spec examples', () => {
  assert.equal(text(encodeUtMetadata({ type: 'request', piece: 0 })), 'd8:msg_typei0e5:piecei0ee')
  assert.equal(text(encodeUtMetadata({ type: 'reject', piece: 0 })), 'd8:msg_typei2e5:piecei0ee')
  assert.deepEqual(decodeUtMetadata(Buffer.from('d8:msg_typei0e5:piecei0ee')), { type: 'request', piece: 0 })
  assert.deepEqual(decodeUtMetadata(Buffer.from('d8:msg_typei2e5:piecei7ee')), { type: 'reject', piece: 7 })
})

test('BEP 9 data: the piece bytes follow the dictionary and are not part of it', () => {
  const payload = encodeUtMetadata({ type: 'data', piece: 1, totalSize: 3425, data: Buffer.from('xxxxxxxx') })
  assert.equal(text(payload), 'd8:msg_typei1e5:piecei1e10:total_sizei3425eexxxxxxxx')
  const msg = decodeUtMetadata(payload)
  assert.equal(msg.type, 'data')
  if (msg.type !== 'data') return
  assert.equal(msg.piece, 1)
  assert.equal(msg.totalSize, 3425)
  assert.equal(text(msg.data), 'xxxxxxxx')
  // A data message whose piece bytes happen to look like bencoding still splits at the dict's end.
  const tricky = decodeUtMetadata(Buffer.from('d8:msg_typei1e5:piecei0e10:total_sizei4eei1ee'))
  assert.equal(tricky.type === 'data' && text(tricky.data), 'i1ee')
})

test('BEP 9: an unrecognised msg_type is ignored, not an error', () => {
  assert.deepEqual(decodeUtMetadata(Buffer.from('d8:msg_typei9e5:piecei0ee')), { type: 'unknown', msgType: 9 })
})

test('BEP 9: malformed messages are ProtocolErrors', () => {
  for (const bad of ['', 'i1e', 'le', 'd5:piecei0ee', 'd8:msg_type1:05:piecei0ee', 'd8:msg_typei0ee',
    'd8:msg_typei0e5:piecei-1ee', 'd8:msg_typei0e5:piece1:0e', 'd8:msg_typei1e5:piecei0ee',
    'd8:msg_typei1e5:piecei0e10:total_sizei0ee', 'd8:msg_typei0e5:piecei0e', 'd8:msg_typei0e5:piecei99999999ee']) {
    assert.throws(() => decodeUtMetadata(Buffer.from(bad)), ProtocolError, bad)
  }
})

test('BEP 9: all pieces are 16 KiB except the last', () => {
  assert.equal(metadataPieceCount(16384), 1)
  assert.equal(metadataPieceCount(16385), 2)
  assert.equal(metadataPieceLength(16385, 0), 16384)
  assert.equal(metadataPieceLength(16385, 1), 1)
  assert.equal(metadataPieceLength(16385, 2), 0)
  assert.equal(metadataPieceLength(40000, 2), 40000 - 32768)
})

test('BEP 10 m: we advertise ut_metadata and ut_pex, metadata_size once we have it; BEP 27: no ut_pex when private', () => {
  assert.deepEqual(ourExtensions(), { m: { ut_metadata: EXTENSION_IDS.ut_metadata, ut_pex: EXTENSION_IDS.ut_pex } })
  assert.deepEqual(ourExtensions({ metadataSize: 1234, port: 6881 }), { m: { ut_metadata: 1, ut_pex: 2 }, metadataSize: 1234, port: 6881 })
  assert.deepEqual(ourExtensions({ private: true }).m, { ut_metadata: 1 })
})
