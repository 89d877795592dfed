import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseMagnet } from '../../lib/magnet/parse.js'
import { v2Expected } from './helpers.js'

const hybrid = v2Expected['hybrid-multi'] as (typeof v2Expected)[string]
const btih = hybrid.infoHashV1 as string
const btmh = `1220${hybrid.infoHashV2}`

test('BEP 9 + BEP 52: a hybrid magnet (btih and btmh) joins the v1 swarm and keeps the v2 hash to check the metadata', () => {
  const m = parseMagnet(`magnet:?xt=urn:btih:${btih}&xt=urn:btmh:${btmh}&dn=mixed`)
  assert.equal(m.version, 'hybrid')
  assert.equal(m.infoHashHex, btih)
  assert.equal(m.infoHashV2Hex, hybrid.infoHashV2)
  assert.equal(Buffer.from(m.infoHashV2 ?? []).toString('hex'), hybrid.infoHashV2)
  // xt.1 / xt.2 numbered forms, either order.
  assert.equal(parseMagnet(`magnet:?xt.1=urn:btmh:${btmh}&xt.2=urn:btih:${btih}`).version, 'hybrid')
})

test('BEP 52: a v2-only magnet\'s swarm id is the v2 hash truncated to 20 bytes', () => {
  const uri = `magnet:?xt=urn:btmh:${btmh.toUpperCase()}`
  const m = parseMagnet(uri)
  assert.equal(m.version, 'v2')
  assert.equal(m.infoHashHex, hybrid.infoHashV2.slice(0, 40))
  assert.equal(m.infoHash.length, 20)
  assert.equal(m.infoHashV2?.length, 32)
})

test('BEP 52 magnets: two different btmh hashes, or a multihash that is not SHA2-256, are refused', () => {
  assert.throws(() => parseMagnet(`magnet:?xt=urn:btih:${btih}&xt=urn:btmh:${btmh}&xt=urn:btmh:1220${'00'.repeat(32)}`), { message: 'magnet names two different urn:btmh info hashes' })
  assert.throws(() => parseMagnet(`magnet:?xt=urn:btmh:1114${'00'.repeat(20)}`, { allowV2Only: true }), /is not a SHA2-256 multihash/)
  assert.throws(() => parseMagnet(`magnet:?xt=urn:btmh:1220${'00'.repeat(31)}`, { allowV2Only: true }), /is not a SHA2-256 multihash/)
})
