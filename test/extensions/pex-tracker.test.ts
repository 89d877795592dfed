import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import type { ExtensionPeer } from '../../lib/extensions/extension-ids.js'
import { decodePex, encodePex, flagsFromByte, type PexPeer } from '../../lib/extensions/pex-codec.js'
import { PexTracker } from '../../lib/extensions/pex-tracker.js'
import { formatPeer } from '../../lib/tracker/compact.js'

class Conn implements ExtensionPeer {
  destroyed = false
  readonly sent: Array<{ id: number, payload: Uint8Array }> = []
  peerExtendedHandshake = { m: { ut_pex: 9 } as Record<string, number> }
  constructor (readonly host: string, readonly port = 6881) {}
  extended (id: number, payload: Uint8Array): boolean { this.sent.push({ id, payload }); return true }
}

function setup (opts: { private?: boolean } = {}) {
  let now = 1_000_000
  const learned: Array<[PexPeer[], Conn]> = []
  const pex = new PexTracker<Conn>({ onPeers: (peers, from) => learned.push([peers, from]), now: () => now, ...opts })
  const conns = new Map<string, Conn>()
  const connect = (host: string, outgoing = true): Conn => {
    const c = new Conn(host)
    conns.set(host, c)
    pex.connected(c, { host, port: 6881, outgoing })
    return c
  }
  const drop = (host: string): void => { const c = conns.get(host); if (c !== undefined) { c.destroyed = true; pex.disconnected(c) } }
  const build = (c: Conn): { added: string[], dropped: string[] } | undefined => {
    const b = pex.buildMessage(c)
    if (b === undefined) return undefined
    const m = decodePex(b, { maxAdded: 1000, maxDropped: 1000 })
    return { added: m.added.map(formatPeer).sort(), dropped: m.dropped.map(formatPeer).sort() }
  }
  return { pex, learned, connect, drop, build, advance: (ms: number) => { now += ms } }
}

test('BEP 11: we tell a peer who we are connected to (not itself), with the reachable flag for outgoing', () => {
  const { pex, connect, build } = setup()
  const a = connect('10.0.0.1')
  connect('10.0.0.2', true)
  connect('10.0.0.3', false)
  const payload = pex.buildMessage(a)
  assert.ok(payload !== undefined)
  const m = decodePex(payload)
  assert.deepEqual(m.added.map(p => [p.host, p.flags.reachable]), [['10.0.0.2', true], ['10.0.0.3', false]])
  assert.deepEqual(m.dropped, [])
  assert.equal(build(a), undefined)
})

test('BEP 11: no more than one message per minute per peer (injected clock)', () => {
  const { connect, build, advance } = setup()
  const a = connect('10.0.0.1')
  connect('10.0.0.2')
  assert.deepEqual(build(a), { added: ['10.0.0.2:6881'], dropped: [] })
  connect('10.0.0.3')
  assert.equal(build(a), undefined)
  advance(59_999)
  assert.equal(build(a), undefined)
  advance(1)
  assert.deepEqual(build(a), { added: ['10.0.0.3:6881'], dropped: [] })
})

test('BEP 11: a disconnected peer is dropped once, only if it was added; transient connections are elided', () => {
  const { connect, drop, build, advance } = setup()
  const a = connect('10.0.0.1')
  connect('10.0.0.2')
  build(a)
  advance(60_000)
  drop('10.0.0.2')
  connect('10.0.0.5')
  drop('10.0.0.5') // came and went between two messages: never mentioned
  assert.deepEqual(build(a), { added: [], dropped: ['10.0.0.2:6881'] })
  advance(60_000)
  assert.equal(build(a), undefined)
})

test('BEP 11: at most 50 added and 50 dropped per message; the rest follow a minute later', () => {
  const { connect, drop, build, advance } = setup()
  const a = connect('10.0.0.1')
  for (let i = 0; i < 120; i++) connect(`10.1.0.${i}`)
  const sizes: number[] = []
  for (let k = 0; k < 3; k++) { sizes.push(build(a)?.added.length ?? 0); advance(60_000) }
  assert.deepEqual(sizes, [50, 50, 20])
  for (let i = 0; i < 60; i++) drop(`10.1.0.${i}`)
  const m = build(a)
  assert.equal(m?.dropped.length, 50)
  assert.equal(m?.added.length, 0)
  advance(60_000)
  assert.equal(build(a)?.dropped.length, 10)
})

test('BEP 11: an added peer is never dropped in the same message', () => {
  const { connect, drop, build, advance } = setup()
  const a = connect('10.0.0.1')
  connect('10.0.0.2')
  build(a)
  advance(60_000)
  drop('10.0.0.2')
  connect('10.0.0.2') // reconnected: still connected, nothing to say
  assert.equal(build(a), undefined)
})

test('BEP 11: learned peers go to onPeers with their flags; sendDue uses the peer\'s ut_pex id', () => {
  const { pex, learned, connect } = setup()
  const a = connect('10.0.0.1')
  const b = connect('10.0.0.2')
  const payload = encodePex({ added: [{ host: '10.9.9.9', port: 7000, flags: flagsFromByte(0x12) }, { host: '10.0.0.1', port: 6881, flags: flagsFromByte(0) }], dropped: [] })
  // The sender listed itself: that teaches us nothing.
  assert.equal(pex.onExtended(a, payload), 1)
  assert.deepEqual(learned, [[[{ host: '10.9.9.9', port: 7000, flags: flagsFromByte(0x12) }], a]])
  assert.equal(pex.sendDue(), 2)
  assert.deepEqual(a.sent.map(s => s.id), [9])
  assert.deepEqual(decodePex(b.sent[0]?.payload ?? new Uint8Array()).added.map(formatPeer), ['10.0.0.1:6881'])
  // A peer without ut_pex gets nothing.
  const c = connect('10.0.0.3')
  c.peerExtendedHandshake = { m: {} }
  assert.equal(pex.buildMessage(c), undefined)
})

test('BEP 11 bounds: a flooding peer yields at most 100 peers per message and one message per 45 s', () => {
  const { pex, learned, connect, advance } = setup()
  const a = connect('10.0.0.1')
  const n = 50_000
  const added = new Uint8Array(n * 6)
  for (let i = 0; i < n; i++) added.set([11, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 0x1a, 0xe1], i * 6)
  const flood = bencode.encode({ added })
  assert.equal(pex.onExtended(a, flood), 100)
  assert.equal(pex.onExtended(a, flood), 0)
  advance(44_999)
  assert.equal(pex.onExtended(a, flood), 0)
  advance(1)
  assert.equal(pex.onExtended(a, flood), 100)
  assert.equal(pex.onExtended(a, Buffer.from('garbage')), 0)
  assert.equal(learned.reduce((n, [p]) => n + p.length, 0), 200)
  assert.equal(pex.ignoredMessages, 3)
  // After the close, late messages are ignored.
  pex.disconnected(a)
  advance(60_000)
  assert.equal(pex.onExtended(a, flood), 0)
})

test('BEP 27: a private torrent sends no PEX and ignores what it receives', () => {
  const { pex, learned, connect } = setup({ private: true })
  const a = connect('10.0.0.1')
  connect('10.0.0.2')
  assert.equal(pex.enabled, false)
  assert.equal(pex.buildMessage(a), undefined)
  assert.equal(pex.sendDue(), 0)
  assert.equal(pex.onExtended(a, encodePex({ added: [{ host: '10.9.9.9', port: 1, flags: flagsFromByte(0) }], dropped: [] })), 0)
  assert.deepEqual(learned, [])
})

test('BEP 27 for a magnet: once the metadata shows a private torrent, disable() stops PEX for good', () => {
  const { pex, learned, connect, advance } = setup()
  const a = connect('10.0.0.1')
  connect('10.0.0.2')
  pex.disable()
  advance(120_000)
  assert.equal(pex.sendDue(), 0)
  assert.equal(pex.buildMessage(a), undefined)
  connect('10.0.0.3')
  assert.equal(pex.onExtended(a, encodePex({ added: [{ host: '10.9.9.9', port: 1, flags: flagsFromByte(0) }], dropped: [] })), 0)
  assert.deepEqual(learned, [])
  assert.deepEqual(a.sent, [])
})
