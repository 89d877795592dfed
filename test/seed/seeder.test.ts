import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import Wire from 'bittorrent-protocol'
import { test } from 'node:test'
import { pieceLengthAt } from '../../lib/metainfo/geometry.js'
import type { ChokerTimer } from '../../lib/seed/choker.js'
import { broadcastHave } from '../../lib/seed/have-broadcast.js'
import { Announcer } from '../../lib/tracker/announcer.js'
import type { AnnounceRequest, Tracker } from '../../lib/tracker/types.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { connect } from '../../lib/wire/connect.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import { next, nextOf, within } from '../wire/helpers.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { SEED_REQQ, Seeder } from '../../lib/seed/seeder.js'
import type { TransferStats } from '../../lib/tracker/announcer.js'
import { fixture } from '../helpers.js'
import { fixturePayload, seedFixture } from './fixture-seed.js'
import { MemoryReader } from './helpers.js'

/** An outbound PeerConnection (ours, playing the leecher) to the seeder. */
async function leecher (port: number, infoHash: Uint8Array, pieceCount: number, have?: BitField): Promise<PeerConnection> {
  const conn = await within(5000, 'connect', connect({ host: '127.0.0.1', port, infoHash, pieceCount, ...(have !== undefined ? { have } : {}) }))
  conn.on('error', () => {})
  return conn
}

/**
 * Resolves once the connection has closed (at once if it already has). A clean end closes a
 * stream only once its messages were read, so the rest is read and dropped.
 */
function closing (conn: PeerConnection): Promise<void> {
  if (conn.destroyed) return Promise.resolve()
  conn.resume()
  return new Promise(resolve => conn.once('close', () => resolve()))
}

const manualTimer = (): ChokerTimer & { tick: () => void } => {
  let fn: (() => void) | undefined
  return { setInterval: (f) => { fn = f; return 1 }, clearInterval: () => { fn = undefined }, tick: () => fn?.() }
}

test('Seeder + Announcer: announces started with left=0 (a seed never sends completed), then stopped with what it uploaded', async () => {
  const requests: AnnounceRequest[] = []
  const tracker = (url: string): Tracker => ({
    url,
    announce: async (req) => { requests.push(req); return { interval: 1800, peers: [], warnings: [] } },
    close: () => {}
  })
  const meta = parseTorrent(fixture('single.torrent'))
  const reader = new MemoryReader(fixturePayload(meta), meta.pieceLength)
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const stats = { get: (): TransferStats => ({ uploaded: 0, downloaded: 0, left: -1 }) }
  const announcer = new Announcer({
    infoHash: meta.infoHash, peerId: new Uint8Array(20).fill(7), port, tiers: [['http://127.0.0.1:1/announce']],
    getStats: () => stats.get(), createTracker: tracker
  })
  const seeder = new Seeder({ meta, reader, have: BitField.full(meta.pieceCount), listener, announcer })
  stats.get = () => seeder.stats()
  seeder.start()
  try {
    await within(5000, 'first announce', announcer.settled())
    assert.deepEqual(requests.map(r => [r.event, r.left, r.downloaded, r.uploaded, r.port]), [['started', 0, 0, 0, port]])
    const conn = await leecher(port, meta.infoHash, meta.pieceCount)
    conn.interested()
    await nextOf(conn, 'unchoke')
    conn.request(0, 0, 16384)
    conn.request(3, 0, pieceLengthAt(meta, 3))
    await nextOf(conn, 'piece')
    await nextOf(conn, 'piece')
    const closed = closing(conn)
    await within(5000, 'seeder closed', seeder.close())
    await within(5000, 'our connection closed by the seeder', closed)
    assert.deepEqual(requests.map(r => [r.event, r.left, r.uploaded]), [['started', 0, 0], ['stopped', 0, 16384 + 1696]])
  } finally {
    await seeder.close()
    await listener.close()
  }
})

test('Seeder dials the peers its tracker returns: a bittorrent-protocol leecher listening on loopback is served; our own address is not a peer', async () => {
  const meta = parseTorrent(fixture('single.torrent'))
  const payload = fixturePayload(meta)
  // The leecher: bittorrent-protocol behind a TCP server, as a client that announced before us.
  let gotBlock: (b: Uint8Array) => void = () => {}
  const block = new Promise<Uint8Array>(resolve => { gotBlock = resolve })
  const wires: Wire[] = []
  const server = createServer((socket) => {
    const wire = new Wire()
    wires.push(wire)
    wire.on('error', () => {})
    socket.on('error', () => {})
    socket.pipe(wire as unknown as NodeJS.WritableStream)
    ;(wire as unknown as NodeJS.ReadableStream).pipe(socket)
    wire.on('handshake', () => {
      wire.handshake(meta.infoHash, Buffer.from('-WW0300-dialedleech1'), { fast: true })
      wire.interested()
    })
    wire.once('unchoke', () => {
      wire.request(1, 100, 1000, (err, b) => { if (err === null) gotBlock(b) })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const leecherPort = (server.address() as AddressInfo).port
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const refused: Error[] = []
  listener.on('refused', (e) => { refused.push(e) })
  const announcer = new Announcer({
    infoHash: meta.infoHash, peerId: listener.peerId, port, tiers: [['http://127.0.0.1:1/announce']],
    getStats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
    createTracker: (url) => ({
      url,
      announce: async () => ({ interval: 1800, peers: [{ host: '127.0.0.1', port }, { host: '127.0.0.1', port: leecherPort }], warnings: [] }),
      close: () => {}
    })
  })
  const seeder = new Seeder({ meta, reader: new MemoryReader(payload, meta.pieceLength), have: BitField.full(meta.pieceCount), listener, announcer })
  seeder.start()
  try {
    const b = await within(5000, 'the dialed leecher got its block', block)
    assert.ok(Buffer.from(b).equals(payload.subarray(32768 + 100, 32768 + 1100)))
    while (!refused.some(e => /ourselves/.test(e.message))) await within(5000, 'the connection to ourselves refused', once(listener, 'refused'))
    assert.equal(seeder.peerCount, 1, 'only the leecher: the connection to ourselves was dropped')
  } finally {
    await seeder.close()
    await listener.close()
    for (const w of wires) w.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
})

test('Seeder: stats().left counts the bytes of pieces we lack', async () => {
  const have = BitField.full(4)
  have.set(3, false)
  have.set(1, false)
  const seed = await seedFixture('single', { have })
  try {
    assert.deepEqual(seed.seeder.stats(), { uploaded: 0, downloaded: 0, left: 32768 + 1696 })
  } finally { await seed.close() }
})

test('Seeder + Choker: with one slot the second leecher waits, its requests rejected (BEP 6), and gets the slot when the first leaves', async () => {
  const timer = manualTimer()
  const seed = await seedFixture('single', { choker: { slots: 1, timer } })
  const { meta } = seed
  const a = await leecher(seed.port, meta.infoHash, meta.pieceCount)
  const b = await leecher(seed.port, meta.infoHash, meta.pieceCount)
  try {
    a.interested()
    await nextOf(a, 'unchoke')
    b.interested()
    b.request(1, 0, 100)
    assert.deepEqual(await nextOf(b, 'reject'), { type: 'reject', index: 1, begin: 0, length: 100 })
    assert.equal(b.peerChoking, true)
    a.request(0, 0, 100)
    await nextOf(a, 'piece')
    a.destroy()
    await nextOf(b, 'unchoke')
    b.request(1, 0, 100)
    const p = await nextOf(b, 'piece')
    assert.ok(Buffer.from(p.block).equals(seed.payload.subarray(32768, 32768 + 100)))
  } finally {
    a.destroy(); b.destroy()
    await seed.close()
  }
})

test('Seeder: two seeds have nothing to trade: a peer with every piece is dropped; maxPeers bounds connections', async () => {
  const seed = await seedFixture('single', { maxPeers: 1 })
  const { meta } = seed
  try {
    const left = once(seed.seeder, 'peer-closed')
    const other = await leecher(seed.port, meta.infoHash, meta.pieceCount, BitField.full(meta.pieceCount))
    await within(5000, 'seed-to-seed connection closed', closing(other))
    await within(5000, 'the seeder let it go', left)
    assert.equal(seed.seeder.peerCount, 0)
    const joined = once(seed.seeder, 'peer')
    const first = await leecher(seed.port, meta.infoHash, meta.pieceCount)
    await nextOf(first, 'haveAll')
    await within(5000, 'first peer registered', joined)
    const second = await leecher(seed.port, meta.infoHash, meta.pieceCount).catch((err: Error) => err)
    if (!(second instanceof Error)) await within(5000, 'over maxPeers: closed', closing(second))
    assert.equal(seed.seeder.peerCount, 1)
    assert.equal(first.destroying, false)
    first.destroy()
  } finally { await seed.close() }
})

test('broadcastHave: a piece that verifies is announced to every peer that lacks it, and is served from then on', async () => {
  const have = BitField.full(4)
  have.set(2, false)
  const seed = await seedFixture('single', { have })
  const { meta } = seed
  const hasTwo = new BitField(4)
  hasTwo.set(2)
  const lacks = await leecher(seed.port, meta.infoHash, meta.pieceCount)
  const holds = await leecher(seed.port, meta.infoHash, meta.pieceCount, hasTwo)
  try {
    await nextOf(lacks, 'bitfield')
    await nextOf(holds, 'bitfield')
    while (seed.seeder.peerCount < 2) await within(5000, 'peers registered', once(seed.seeder, 'peer'))
    // Wait until our side has read the holder's bitfield.
    const ours = [...seed.seeder.connections]
    await within(5000, "our side read the holder's bitfield", (async () => { while (!ours.some(c => c.peerPieces?.get(2) === true)) await new Promise(resolve => setTimeout(resolve, 10)) })())
    lacks.interested()
    await nextOf(lacks, 'unchoke')
    lacks.request(2, 0, 100)
    assert.equal((await nextOf(lacks, 'reject')).index, 2)
    have.set(2)
    assert.equal(broadcastHave(seed.seeder.connections, 2), 1)
    assert.deepEqual(await next(lacks), { type: 'have', index: 2 })
    lacks.request(2, 0, 100)
    const p = await nextOf(lacks, 'piece')
    assert.ok(Buffer.from(p.block).equals(seed.payload.subarray(65536, 65536 + 100)))
  } finally {
    lacks.destroy(); holds.destroy()
    await seed.close()
  }
})

test('BEP 10: a seed advertises reqq 2000 (libtorrent\'s default), so a leecher may keep 32 MiB of requests out to it, not 4 MiB', async () => {
  const meta = parseTorrent(fixture('single.torrent'))
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const seeder = new Seeder({ meta, reader: new MemoryReader(fixturePayload(meta), meta.pieceLength), have: BitField.full(meta.pieceCount), listener })
  seeder.start()
  let conn: PeerConnection | undefined
  try {
    conn = await leecher(port, meta.infoHash, meta.pieceCount)
    const ext = conn.peerExtendedHandshake ?? (await within(5000, 'extended handshake', once(conn, 'extended-handshake')))[0]
    assert.equal(SEED_REQQ, 2000)
    assert.equal(ext.reqq, SEED_REQQ)
  } finally {
    conn?.destroy()
    await seeder.close()
    await listener.close()
  }
})
