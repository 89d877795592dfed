import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { MetadataFetcher } from '../../lib/extensions/metadata-fetcher.js'
import { decodePex } from '../../lib/extensions/pex-codec.js'
import { decodeUtMetadata, encodeUtMetadata, METADATA_PIECE_LENGTH } from '../../lib/extensions/ut-metadata-codec.js'
import { ProtocolError } from '../../lib/util/errors.js'
import { prng, within } from '../wire/helpers.js'
import { corrupt, FakePeer, infoDict, serving } from './helpers.js'

type Behaviour = (piece: number) => Uint8Array | undefined

/** Peers that are wrong in every way the fetcher has a rule for, picked by a seeded PRNG. */
function hostile (rand: () => number, bytes: Uint8Array): Behaviour {
  const size = bytes.length
  const kinds: Behaviour[] = [
    serving(corrupt(bytes)),
    () => undefined,
    (piece) => encodeUtMetadata({ type: 'reject', piece }),
    (piece) => encodeUtMetadata({ type: 'data', piece, totalSize: size + 1, data: bytes.subarray(0, 10) }),
    (piece) => encodeUtMetadata({ type: 'data', piece, totalSize: size, data: new Uint8Array(Math.floor(rand() * 2 * METADATA_PIECE_LENGTH)) }),
    () => encodeUtMetadata({ type: 'data', piece: Math.floor(rand() * 1000), totalSize: size, data: new Uint8Array(5) }),
    () => Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)),
    (piece) => bencode.encode({ msg_type: 7, piece }),
    // Right for some pieces, wrong for others.
    (piece) => (rand() < 0.5 ? serving(bytes) : serving(corrupt(bytes)))(piece)
  ]
  return kinds[Math.floor(rand() * kinds.length)] as Behaviour
}

test('BEP 9 fuzz: with one honest peer among random hostile ones, the fetch always ends with the right bytes (40 seeds)', async () => {
  const meta = infoDict(2500, 3)
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(seed)
    const bad: string[] = []
    const f = new MetadataFetcher<FakePeer>({ infoHash: meta.infoHash, timeout: 10_000, requestTimeout: 20, maxInFlightPerPeer: 1 + Math.floor(rand() * 3), onBadPeer: (c) => bad.push(c.name) })
    const n = 1 + Math.floor(rand() * 5)
    const honestAt = Math.floor(rand() * (n + 1))
    for (let i = 0; i <= n; i++) {
      const peer = new FakePeer(i === honestAt ? 'honest' : `hostile${i}`, meta.bytes.length, i === honestAt ? serving(meta.bytes) : hostile(rand, meta.bytes))
      peer.deliver = (payload) => { f.onExtended(peer, payload) }
      f.addPeer(peer)
    }
    const bytes = await within(5000, `seed ${seed}`, f.metadata)
    assert.ok(Buffer.from(bytes).equals(meta.bytes), `seed ${seed}`)
    assert.ok(!bad.includes('honest'), `seed ${seed}: the honest peer was called bad`)
  }
})

test('BEP 9 / BEP 11 fuzz: decoders return a message or throw ProtocolError, nothing else (seeded)', () => {
  const rand = prng(0xbe9)
  const seeds = [
    encodeUtMetadata({ type: 'data', piece: 2, totalSize: 40000, data: new Uint8Array(100) }),
    encodeUtMetadata({ type: 'request', piece: 1 }),
    bencode.encode({ added: new Uint8Array(60), 'added.f': new Uint8Array(10), added6: new Uint8Array(36), dropped: new Uint8Array(12) })
  ]
  for (let i = 0; i < 3000; i++) {
    const src = seeds[i % seeds.length] as Uint8Array
    const b = src.slice(0, Math.floor(rand() * (src.length + 1)))
    for (let k = 0; k < 1 + rand() * 4; k++) if (b.length > 0) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256)
    for (const decode of [decodeUtMetadata, decodePex]) {
      try {
        decode(b)
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `input ${Buffer.from(b).toString('hex')}: ${String(err)}`)
      }
    }
  }
})
