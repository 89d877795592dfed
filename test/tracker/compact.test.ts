import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeCompactPeers, encodeCompactPeer, encodeCompactPeers, formatPeer, validPeer } from '../../lib/tracker/compact.js'

test('BEP 23: a compact IPv4 peer is 4 address bytes then a big-endian port', () => {
  const bytes = Uint8Array.from([10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0x00, 0x50])
  assert.deepEqual(decodeCompactPeers(bytes, 4), {
    peers: [{ host: '10.0.0.1', port: 6881 }, { host: '192.168.1.2', port: 80 }],
    invalid: 0,
    trailingBytes: 0,
    overLimit: 0
  })
  assert.deepEqual(encodeCompactPeers([{ host: '10.0.0.1', port: 6881 }, { host: '192.168.1.2', port: 80 }]), bytes)
})

test('BEP 7: a compact IPv6 peer is 16 address bytes then the port, printed in RFC 5952 form', () => {
  const bytes = new Uint8Array(18)
  bytes.set([0x20, 0x01, 0x0d, 0xb8], 0)
  bytes[15] = 1
  bytes[16] = 0x1a
  bytes[17] = 0xe1
  const { peers } = decodeCompactPeers(bytes, 6)
  assert.deepEqual(peers, [{ host: '2001:db8::1', port: 6881 }])
  assert.equal(formatPeer(peers[0]!), '[2001:db8::1]:6881')
  assert.deepEqual(encodeCompactPeer({ host: '2001:db8::1', port: 6881 }), bytes)
  const loop = new Uint8Array(18)
  loop[15] = 1
  loop[17] = 9
  assert.deepEqual(decodeCompactPeers(loop, 6).peers, [{ host: '::1', port: 9 }])
})

test('a truncated compact list keeps the whole entries and counts the rest', () => {
  const r = decodeCompactPeers(Uint8Array.from([127, 0, 0, 1, 0, 1, 127, 0, 0]), 4)
  assert.deepEqual(r.peers, [{ host: '127.0.0.1', port: 1 }])
  assert.equal(r.trailingBytes, 3)
})

test('obviously invalid entries are dropped: port 0, 0.0.0.0, broadcast, multicast', () => {
  const bad = encodeCompactPeers([{ host: '0.0.0.0', port: 1 }, { host: '255.255.255.255', port: 1 }, { host: '224.0.0.1', port: 1 }])
  const port0 = Uint8Array.from([1, 2, 3, 4, 0, 0])
  const r = decodeCompactPeers(Uint8Array.from([...bad, ...port0, 127, 0, 0, 1, 0, 2]), 4)
  assert.deepEqual(r.peers, [{ host: '127.0.0.1', port: 2 }])
  assert.equal(r.invalid, 4)
  assert.equal(validPeer('::', 80), undefined)
  assert.equal(validPeer('ff02::1', 80), undefined)
  assert.equal(validPeer('not a host!', 80), undefined)
  assert.equal(validPeer('1.2.3', 80), undefined)
  assert.equal(validPeer('10.0.0.1', 65536), undefined)
})

test('IPv4-mapped IPv6 and DNS names are normalised', () => {
  assert.deepEqual(validPeer('::FFFF:10.1.2.3', 5), { host: '10.1.2.3', port: 5 })
  assert.deepEqual(validPeer('Peer.Example.org', 5), { host: 'peer.example.org', port: 5 })
  assert.throws(() => encodeCompactPeer({ host: 'peer.example.org', port: 5 }), RangeError)
})

test('seeded fuzz: decode(encode(peers)) gives the peers back, both families', () => {
  let s = 0x2545f491
  const rand = (n: number): number => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) % n }
  for (let round = 0; round < 200; round++) {
    const v4 = Array.from({ length: rand(20) }, () => ({ host: `${1 + rand(223)}.${rand(256)}.${rand(256)}.${1 + rand(254)}`, port: 1 + rand(65535) }))
    const v6 = Array.from({ length: rand(10) }, () => ({
      host: validPeer(['2001', ...Array.from({ length: 7 }, () => rand(3) === 0 ? '0' : rand(65536).toString(16))].join(':'), 1)!.host,
      port: 1 + rand(65535)
    }))
    assert.deepEqual(decodeCompactPeers(encodeCompactPeers(v4), 4).peers, v4)
    const back = decodeCompactPeers(encodeCompactPeers(v6), 6).peers
    assert.deepEqual(back.map(p => encodeCompactPeer(p)), v6.map(p => encodeCompactPeer(p)))
    // The decoder's text form is canonical: re-validating it changes nothing.
    for (const p of back) assert.deepEqual(validPeer(p.host, p.port), p)
  }
})

test('a limit keeps the first valid peers and counts the entries left unread', () => {
  const bytes = Uint8Array.from([...encodeCompactPeers([{ host: '0.0.0.0', port: 1 }]), ...encodeCompactPeers([{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 2 }, { host: '10.0.0.3', port: 3 }]), 9, 9])
  assert.deepEqual(decodeCompactPeers(bytes, 4, 2), {
    peers: [{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 2 }],
    invalid: 1,
    trailingBytes: 2,
    overLimit: 1
  })
})
