/**
 * The engine against misbehaving peers beside honest ones (real loopback TCP). The output must be
 * byte-identical every time, and the bad peers banned or routed around.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { download } from '../../lib/session/download.js'
import { startFakeSeeder, type Behaviour, type FakeSeeder } from './fake-seeder.js'
import { makeTorrent, type MadeTorrent } from './fixture-torrent.js'
import { collect } from '../helpers.js'


async function withSeeders (t: MadeTorrent, behaviours: Behaviour[], fn: (seeders: FakeSeeder[]) => Promise<void>): Promise<void> {
  const seeders = await Promise.all(behaviours.map(b => startFakeSeeder(t.meta, t.data, b)))
  try { await fn(seeders) } finally { await Promise.all(seeders.map(s => s.close())) }
}

const peersOf = (seeders: FakeSeeder[]) => seeders.map(s => ({ host: '127.0.0.1', port: s.port }))

test('BEP 3 piece verification: a peer sending corrupt blocks is banned; the output is exact', async () => {
  // An odd length: the last piece and its last block are short.
  const t = makeTorrent({ length: 3 * 1024 * 1024 + 777, pieceLength: 64 * 1024 })
  // The honest peer answers a little late, so the corrupt one always gets its share of requests.
  await withSeeders(t, [{ kind: 'slow', delayMs: 5 }, { kind: 'corrupt' }], async seeders => {
    const stream = download(t.meta, { peers: peersOf(seeders), trackers: false })
    const banned: string[] = []
    stream.on('peer-banned', (addr, reason) => banned.push(`${addr.port} ${reason}`))
    const out = await collect(stream)
    assert.ok(out.equals(t.data), 'byte-identical')
    assert.ok(seeders[1]!.sent() > 0, 'the corrupt peer was asked for blocks')
    assert.ok(stream.progress.hashFailures > 0)
    assert.ok(banned.some(b => b.startsWith(String(seeders[1]!.port))), `corrupt peer banned: ${banned.join('; ')}`)
    assert.ok(!banned.some(b => b.startsWith(String(seeders[0]!.port))), 'the honest peer is never banned')
  })
})

test('a download from only a corrupt peer fails with a clear error, never wrong bytes', async () => {
  const t = makeTorrent({ length: 256 * 1024, pieceLength: 32 * 1024 })
  await withSeeders(t, [{ kind: 'corrupt' }], async seeders => {
    const stream = download(t.meta, { peers: peersOf(seeders), trackers: false, stallTimeoutMs: 60_000 })
    await assert.rejects(collect(stream), /every peer was banned/)
  })
})

test('a peer that unchokes and never answers is routed around (BEP 3 endgame / stalled blocks)', async () => {
  const t = makeTorrent({ length: 2 * 1024 * 1024, pieceLength: 128 * 1024 })
  await withSeeders(t, [{ kind: 'silent' }, { kind: 'honest' }], async seeders => {
    const stream = download(t.meta, { peers: peersOf(seeders), trackers: false })
    const out = await collect(stream)
    assert.ok(out.equals(t.data))
  })
})

test('a peer that disconnects mid-piece: its requests go back to the pool', async () => {
  const t = makeTorrent({ length: 2 * 1024 * 1024, pieceLength: 256 * 1024 })
  await withSeeders(t, [{ kind: 'disconnect', afterBlocks: 5 }, { kind: 'honest' }], async seeders => {
    const stream = download(t.meta, { peers: peersOf(seeders), trackers: false })
    const out = await collect(stream)
    assert.ok(out.equals(t.data))
  })
})

test('a peer 100x slower than the rest does not hold the stream back', async () => {
  const t = makeTorrent({ length: 2 * 1024 * 1024, pieceLength: 64 * 1024 })
  await withSeeders(t, [{ kind: 'slow', delayMs: 200 }, { kind: 'honest' }, { kind: 'honest' }], async seeders => {
    const stream = download(t.meta, { peers: peersOf(seeders), trackers: false })
    const out = await collect(stream)
    assert.ok(out.equals(t.data))
    // 128 blocks: at one block per 200 ms the slow peer alone would take 25 s. The fast peers
    // must have carried most of it (a count, not a clock).
    assert.ok(seeders[0]!.sent() < 64, `slow peer sent ${seeders[0]!.sent()} of 128 blocks`)
  })
})

test('all four kinds of bad peer at once, beside one honest peer', async () => {
  const t = makeTorrent({ length: 4 * 1024 * 1024 + 1, pieceLength: 64 * 1024 })
  const kinds: Behaviour[] = [{ kind: 'corrupt' }, { kind: 'silent' }, { kind: 'disconnect', afterBlocks: 3 }, { kind: 'slow', delayMs: 100 }, { kind: 'honest' }]
  await withSeeders(t, kinds, async seeders => {
    const stream = download(t.meta, { peers: peersOf(seeders), trackers: false })
    const out = await collect(stream)
    assert.ok(out.equals(t.data))
  })
})

test('peers that keep us choked: after the stall timeout, a clear error instead of a hang', async () => {
  const t = makeTorrent({ length: 256 * 1024, pieceLength: 32 * 1024 })
  await withSeeders(t, [{ kind: 'choking' }], async seeders => {
    const stream = download(t.meta, { peers: peersOf(seeders), trackers: false, stallTimeoutMs: 1000 })
    await assert.rejects(collect(stream), /no data for 1 s from 1 connected peers \(1 choking us\)/)
  })
})

test('BEP 11 PEX: a peer learned from another peer\'s ut_pex message joins the pool and serves', async () => {
  const t = makeTorrent({ length: 512 * 1024, pieceLength: 32 * 1024 })
  const hidden = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
  // The only peer we are told of keeps us choked, but names the hidden one.
  const teller = await startFakeSeeder(t.meta, t.data, { kind: 'choking' }, { pex: [{ host: '127.0.0.1', port: hidden.port }] })
  try {
    const stream = download(t.meta, { peers: [{ host: '127.0.0.1', port: teller.port }], trackers: false, stallTimeoutMs: 20_000 })
    assert.ok((await collect(stream)).equals(t.data))
    assert.ok(hidden.sent() > 0, 'the peer known only through PEX served the data')
  } finally {
    await Promise.all([hidden.close(), teller.close()])
  }
})
