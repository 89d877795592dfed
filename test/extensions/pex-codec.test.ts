import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { decodePex, encodePex, flagsFromByte, flagsToByte, PEX_FLAG } from '../../lib/extensions/pex-codec.js'
import { ProtocolError } from '../../lib/util/errors.js'

const NONE = flagsFromByte(0)
const SEED_REACHABLE = flagsFromByte(PEX_FLAG.seed | PEX_FLAG.reachable)

test('BEP 11: added/added.f/added6/added6.f/dropped/dropped6 round-trip with flags', () => {
  const msg = {
    added: [
      { host: '10.0.0.1', port: 6881, flags: SEED_REACHABLE },
      { host: '2001:db8::1', port: 51413, flags: flagsFromByte(PEX_FLAG.utp | PEX_FLAG.encryption) },
      { host: '10.0.0.2', port: 1, flags: NONE }
    ],
    dropped: [{ host: '192.168.1.9', port: 80 }, { host: 'fe80::2', port: 443 }]
  }
  const bytes = encodePex(msg)
  const dict = bencode.decode(bytes) as Record<string, Uint8Array>
  assert.deepEqual(Object.keys(dict).sort(), ['added', 'added.f', 'added6', 'added6.f', 'dropped', 'dropped6'])
  assert.deepEqual([...(dict.added ?? [])], [10, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 1])
  assert.deepEqual([...(dict['added.f'] ?? [])], [0x12, 0])
  assert.equal(dict.added6?.length, 18)
  assert.deepEqual([...(dict['added6.f'] ?? [])], [0x05])
  const back = decodePex(bytes)
  assert.deepEqual(back.added, [msg.added[0], msg.added[2], msg.added[1]])
  assert.deepEqual(back.dropped, msg.dropped)
  assert.equal(back.ignored, 0)
})

test('BEP 11: an empty update still carries added and dropped; DNS names are left out', () => {
  const dict = bencode.decode(encodePex({ added: [{ host: 'example.com', port: 1, flags: NONE }], dropped: [] })) as Record<string, Uint8Array>
  assert.deepEqual(Object.keys(dict).sort(), ['added', 'added.f', 'dropped'])
  assert.equal(dict.added?.length, 0)
})

test('BEP 11 flags: each bit maps to one property, reserved bits are dropped', () => {
  assert.deepEqual(flagsFromByte(0xff), { encryption: true, seed: true, utp: true, holepunch: true, reachable: true })
  assert.equal(flagsToByte(flagsFromByte(0xff)), 0x1f)
  assert.equal(flagsToByte({ reachable: true }), 0x10)
})

test('BEP 11 security: a flood of added entries is read only up to the limit', () => {
  const n = 100_000
  const added = new Uint8Array(n * 6)
  for (let i = 0; i < n; i++) added.set([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 0x1a, 0xe1], i * 6)
  const payload = bencode.encode({ added, 'added.f': new Uint8Array(n), dropped: added })
  const out = decodePex(payload, { maxAdded: 100, maxDropped: 10 })
  assert.equal(out.added.length, 100)
  assert.equal(out.dropped.length, 10)
  assert.equal(out.ignored, 2 * n - 110)
})

test('BEP 11 security: duplicate IPs (other ports) and invalid entries are ignored; flags stay aligned', () => {
  const added = Uint8Array.from([
    10, 0, 0, 1, 0, 80, // kept, flags 0x02
    0, 0, 0, 0, 0, 80, // unspecified address: ignored
    10, 0, 0, 1, 0, 81, // same IP, other port: ignored
    10, 0, 0, 3, 0, 0, // port 0: ignored
    10, 0, 0, 4, 0, 82 // kept, flags 0x10
  ])
  const payload = bencode.encode({ added, 'added.f': Uint8Array.from([0x02, 0x04, 0x04, 0x04, 0x10]) })
  const out = decodePex(payload)
  assert.deepEqual(out.added, [
    { host: '10.0.0.1', port: 80, flags: flagsFromByte(0x02) },
    { host: '10.0.0.4', port: 82, flags: flagsFromByte(0x10) }
  ])
  assert.equal(out.ignored, 3)
})

test('BEP 11: a payload that is not a dictionary is a ProtocolError; fields of the wrong type count as absent', () => {
  assert.throws(() => decodePex(Buffer.from('le')), ProtocolError)
  assert.throws(() => decodePex(Buffer.from('d5:added')), ProtocolError)
  const out = decodePex(bencode.encode({ added: 5, dropped: [1, 2] }))
  assert.deepEqual(out, { added: [], dropped: [], ignored: 0 })
  // No added.f: every peer gets no flags; a truncated trailing entry is ignored unread.
  const noFlags = decodePex(bencode.encode({ added: Uint8Array.from([1, 2, 3, 4, 0, 1, 9, 9]) }))
  assert.deepEqual(noFlags.added, [{ host: '1.2.3.4', port: 1, flags: NONE }])
})
