import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeReserved, encodeReserved } from '../../lib/wire/handshake.js'
import {
  decodeHashes, decodeHashRequest, encodeHashes, encodeHashRequest, HASH_REQUEST_LENGTH, MAX_HASHES_PAYLOAD_LENGTH, requestProblem, requestProblemForTree, uncleCount, type HashRequest
} from '../../lib/wire/hash-messages.js'

const root = Buffer.alloc(32, 0x5a)
const req: HashRequest = { piecesRoot: root, baseLayer: 1, index: 512, length: 512, proofLayers: 12 }
const h = (n: number): Buffer => Buffer.alloc(32, n)

test('BEP 52 hash request: <pieces root><base layer><index><length><proof layers>, 48 bytes, big-endian', () => {
  const p = encodeHashRequest(req)
  assert.equal(p.length, HASH_REQUEST_LENGTH)
  assert.equal(Buffer.from(p).toString('hex'), root.toString('hex') + '00000001' + '00000200' + '00000200' + '0000000c')
  assert.deepEqual(decodeHashRequest(p), { ...req, piecesRoot: new Uint8Array(root) })
  for (const n of [0, 47, 49]) assert.throws(() => decodeHashRequest(new Uint8Array(n)), { name: 'ProtocolError' })
})

test('BEP 52 hashes: the first log2(length) - 1 proof layers are omitted (uncles = proof layers - log2(length) + 1)', () => {
  assert.equal(uncleCount(2, 1), 1)
  assert.equal(uncleCount(2, 0), 0)
  assert.equal(uncleCount(512, 8), 0)
  assert.equal(uncleCount(512, 10), 2)
  assert.equal(uncleCount(4, 0), 0)
  assert.equal(uncleCount(1, 0), 1, 'libtorrent\'s arithmetic for a one-hash request')
})

test('BEP 52 hashes: encode and decode round trip; the size must be what the header implies', () => {
  const m = { ...req, length: 4, index: 8, proofLayers: 4, hashes: [h(1), h(2), h(3), h(4)], uncles: [h(5), h(6), h(7)] }
  const p = encodeHashes(m)
  assert.equal(p.length, 48 + 7 * 32)
  const d = decodeHashes(p)
  assert.deepEqual(d.hashes.map(x => x[0]), [1, 2, 3, 4])
  assert.deepEqual(d.uncles.map(x => x[0]), [5, 6, 7])
  assert.throws(() => decodeHashes(p.subarray(0, p.length - 32)), { name: 'ProtocolError', message: /must be 272 bytes, found 240/ })
  assert.throws(() => decodeHashes(Buffer.concat([p, h(9)])), { name: 'ProtocolError' })
  assert.throws(() => decodeHashes(p.subarray(0, 40)), { name: 'ProtocolError', message: /shorter than its 48-byte header/ })
})

test('BEP 52 hashes: a message past the bound is refused before it is split', () => {
  assert.throws(() => decodeHashes(new Uint8Array(MAX_HASHES_PAYLOAD_LENGTH + 1)), { name: 'ProtocolError', message: /exceeds/ })
  const huge = Buffer.from(encodeHashRequest({ ...req, index: 0, length: 2 ** 20, proofLayers: 0 }))
  assert.throws(() => decodeHashes(huge), { name: 'ProtocolError', message: /length 1048576 is not a power of two up to 8192/ })
})

test('BEP 52 hash request rules: length a power of two, index a multiple of it, layers within a tree', () => {
  assert.equal(requestProblem(req), undefined)
  assert.match(requestProblem({ ...req, length: 3 }) ?? '', /not a power of two/)
  assert.match(requestProblem({ ...req, length: 0 }) ?? '', /not a power of two/)
  assert.match(requestProblem({ ...req, index: 100 }) ?? '', /not a multiple of length/)
  assert.match(requestProblem({ ...req, baseLayer: 40 }) ?? '', /base layer 40/)
  assert.match(requestProblem({ ...req, proofLayers: 0xffffffff }) ?? '', /proof layers/)
  // For a file whose tree is 12 layers tall (2048 leaves):
  assert.equal(requestProblemForTree({ ...req, baseLayer: 0, index: 1536, length: 512, proofLayers: 11 }, 12), undefined)
  assert.match(requestProblemForTree({ ...req, baseLayer: 12, index: 0, length: 1, proofLayers: 0 }, 12) ?? '', /not below the root/)
  assert.match(requestProblemForTree({ ...req, baseLayer: 3, index: 512, length: 512, proofLayers: 0 }, 12) ?? '', /run past the 512 of layer 3/)
  assert.match(requestProblemForTree({ ...req, baseLayer: 0, index: 0, length: 2, proofLayers: 12 }, 12) ?? '', /reach the root/)
})

test('BEP 52 handshake: reserved byte 7 bit 0x10 says "supports v2", beside BEP 6 and BEP 5', () => {
  const r = encodeReserved({ extended: true, fast: true, dht: false, v2: true })
  assert.equal(r[7], 0x14)
  assert.deepEqual(decodeReserved(r), { extended: true, fast: true, dht: false, v2: true })
  // Without it, the bits decode as they always did (no v2 key).
  assert.deepEqual(decodeReserved(encodeReserved({ extended: true, fast: true, dht: true })), { extended: true, fast: true, dht: true })
  // libtorrent 2.0's own handshake on a hybrid's v1 hash: 00 00 00 00 00 10 00 15.
  assert.equal(decodeReserved(Buffer.from('0000000000100015', 'hex')).v2, true)
})
