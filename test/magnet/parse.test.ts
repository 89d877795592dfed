import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_SELECT_ONLY, parseMagnet } from '../../lib/magnet/parse.js'

const HEX = 'dbaa08befbf2baf1a594c835201295a00b33fdbc'
const throwsMagnet = (uri: string, message: string): void => {
  assert.throws(() => parseMagnet(uri), { name: 'MagnetError', message })
}

test('BEP 9: xt=urn:btih with 40 hex digits (either case)', () => {
  const m = parseMagnet(`magnet:?xt=urn:btih:${HEX.toUpperCase()}`)
  assert.equal(m.infoHashHex, HEX)
  assert.deepEqual(m.infoHash, new Uint8Array(Buffer.from(HEX, 'hex')))
  assert.deepEqual(m.trackers, [])
  assert.deepEqual(m.peers, [])
  assert.equal(m.name, undefined)
  assert.equal(m.selectOnly, undefined)
})

test('BEP 9: xt=urn:btih with 32 base32 characters (RFC 4648)', () => {
  // base32 of 0xdbaa08...fdbc, computed independently of lib/util/base32.ts:
  const b32 = (() => {
    const bits = [...Buffer.from(HEX, 'hex')].map(x => x.toString(2).padStart(8, '0')).join('')
    return bits.match(/.{5}/g)?.map(c => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[parseInt(c, 2)]).join('') ?? ''
  })()
  assert.equal(b32.length, 32)
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHashHex, HEX)
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32.toLowerCase()}`).infoHashHex, HEX)
})

test('BEP 9: dn, every tr, x.pe (IPv4, hostname, [IPv6]), percent-encoding', () => {
  const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&dn=My%20Album+2&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce` +
    '&tr=udp://127.0.0.1:6971&tr=udp://127.0.0.1:6971&x.pe=127.0.0.1:6881&x.pe=peer.local:51413&x.pe=%5B::1%5D:6882&x.pe=[fe80::1]:1')
  assert.equal(m.name, 'My Album 2')
  assert.deepEqual(m.trackers, ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6971'])
  assert.deepEqual(m.peers, [{ host: '127.0.0.1', port: 6881 }, { host: 'peer.local', port: 51413 }, { host: '::1', port: 6882 }, { host: 'fe80::1', port: 1 }])
})

test('BEP 19: ws web seeds; BEP 53: so=0,2,4-6 select-only indices', () => {
  const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&ws=http%3A%2F%2F127.0.0.1%3A8080%2F&so=0,2,4-6&so=2,9`)
  assert.deepEqual(m.webSeeds, ['http://127.0.0.1:8080/'])
  assert.deepEqual(m.selectOnly, [0, 2, 4, 5, 6, 9])
})

test('BEP 53: bad so values are named; a huge range cannot allocate', () => {
  throwsMagnet(`magnet:?xt=urn:btih:${HEX}&so=1,x`, 'so "1,x": "x" is not an index or a range like 4-6')
  throwsMagnet(`magnet:?xt=urn:btih:${HEX}&so=6-4`, 'so range 6-4 runs backwards')
  throwsMagnet(`magnet:?xt=urn:btih:${HEX}&so=0-999999999`, `so selects more than ${MAX_SELECT_ONLY} files`)
})

test('BEP 9 v2: urn:btmh is recognised; alone its truncated hash is the swarm id, beside a btih it is kept', () => {
  const mh = '1220' + 'ab'.repeat(32)
  assert.equal(parseMagnet(`magnet:?xt=urn:btmh:${mh}`).infoHashHex, mh.slice(4, 44))
  const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:${mh}`)
  assert.equal(m.infoHashHex, HEX)
  assert.equal(m.infoHashV2Hex, 'ab'.repeat(32))
  assert.equal(m.version, 'hybrid')
  throwsMagnet(`magnet:?xt=urn:btmh:1114${'ab'.repeat(20)}`, `urn:btmh: "1114${'ab'.repeat(20)}" is not a SHA2-256 multihash (1220 + 64 hex digits)`)
})

test('malformed magnets get a MagnetError naming the problem', () => {
  throwsMagnet('http://example.com/', 'not a magnet URI (expected "magnet:?xt=urn:btih:...")')
  throwsMagnet('magnet:?dn=x', 'magnet has no "xt=urn:btih:" (or "xt=urn:btmh:") info hash')
  throwsMagnet('magnet:?xt=urn:btih:1234', 'urn:btih: "1234" is neither 40 hex digits nor 32 base32 characters')
  throwsMagnet(`magnet:?xt=urn:btih:${'1'.repeat(32)}`, `urn:btih: "${'1'.repeat(32)}" is neither 40 hex digits nor 32 base32 characters`)
  throwsMagnet(`magnet:?xt=urn:btih:${HEX}&tr=%E0%A4%A`, 'bad percent-encoding in "tr": %E0%A4%A')
  throwsMagnet(`magnet:?xt=urn:btih:${HEX}&x.pe=127.0.0.1`, 'x.pe "127.0.0.1" is not host:port or [ipv6]:port')
  throwsMagnet(`magnet:?xt=urn:btih:${HEX}&x.pe=127.0.0.1:70000`, 'x.pe "127.0.0.1:70000" is not host:port or [ipv6]:port')
  throwsMagnet(`magnet:?xt=urn:btih:${HEX}&x.pe=::1:80`, 'x.pe "::1:80" is not host:port or [ipv6]:port')
  throwsMagnet(`magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`, 'magnet names two different urn:btih info hashes')
})
