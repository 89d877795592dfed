/**
 * A bad peer costs us that peer, never the process or the download. Every case writes its
 * handshake and the bad bytes in ONE write(), in every role: a peer we dial (stdout download,
 * `-o`, the `handshake` command, a magnet's metadata fetch) and a peer that dials us (`seed`,
 * a download to disk). The output must stay byte-identical and the hostile peer must be dropped
 * (or, where real clients do the same thing, kept: see lib/wire/README.md).
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { main } from '../../lib/cli/main.js'
import { parseMagnet } from '../../lib/magnet/parse.js'
import { download } from '../../lib/session/download.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { fetchMagnetMetadata } from '../../lib/session/magnet-metadata.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder } from '../../lib/seed/seeder.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { collect } from '../helpers.js'
import { MemoryReader } from '../seed/helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'
import { HOSTILE_CASES, hostileDial, startHostileServer, startLateHostileServer, type HostileServer } from './hostile-bytes.js'

// 21 pieces: not a multiple of 8, so a bitfield has spare bits to set.
const PIECE = 16 * 1024
const t = makeTorrent({ length: 20 * PIECE + 999, pieceLength: PIECE })
const { meta } = t
const local = (port: number): { host: string, port: number } => ({ host: '127.0.0.1', port })

async function withHostile<T> (fn: (servers: HostileServer[]) => Promise<T>): Promise<T> {
  const servers = await Promise.all(HOSTILE_CASES.map(c => startHostileServer(c, meta.infoHash, meta.pieceCount, meta.pieceLength)))
  try { return await fn(servers) } finally { await Promise.all(servers.map(s => s.close())) }
}

function assertDropped (servers: HostileServer[]): void {
  HOSTILE_CASES.forEach((c, i) => {
    const s = servers[i] as HostileServer
    assert.ok(s.connections() > 0, `${c.name}: we dialed it`)
    if (c.dropped) assert.ok(s.closedByPeer() > 0, `${c.name}: dropped`)
  })
}

test('dialing (stdout download): each hostile peer beside an honest one, bad bytes in the handshake\'s segment', async () => {
  const honest = await startFakeSeeder(meta, t.data, { kind: 'honest' })
  try {
    for (const [i, c] of HOSTILE_CASES.entries()) {
      const bad = await startHostileServer(c, meta.infoHash, meta.pieceCount, meta.pieceLength)
      try {
        const stream = download(meta, { peers: [local(bad.port), local(honest.port)], trackers: false })
        const out = await within(20_000, `case ${i}: ${c.name}`, collect(stream))
        assert.ok(out.equals(t.data), `${c.name}: byte-identical`)
        assert.ok(bad.connections() > 0, `${c.name}: dialed`)
        if (c.dropped) assert.ok(bad.closedByPeer() > 0, `${c.name}: dropped`)
      } finally { await bad.close() }
    }
  } finally { await honest.close() }
})

test('dialing (stdout download): the bad bytes once the download is under way (lent reads, messages straight from the parser), beside a thin honest peer', async () => {
  // The honest peer is slow, so every hostile peer is asked for blocks while the download runs.
  const honest = await startFakeSeeder(meta, t.data, { kind: 'slow', delayMs: 40 })
  const cases = HOSTILE_CASES.filter(c => c.handshake === undefined)
  const servers = await Promise.all(cases.map(c => startLateHostileServer(c, meta.infoHash, meta.pieceCount, meta.pieceLength)))
  try {
    const stream = download(meta, { peers: [...servers.map(s => local(s.port)), local(honest.port)], trackers: false })
    const out = await within(30_000, 'download beside late hostile peers', collect(stream))
    assert.ok(out.equals(t.data), 'byte-identical')
    cases.forEach((c, i) => {
      const s = servers[i]!
      assert.ok(s.triggered() > 0, `${c.name}: asked for a block, so it sent its bad bytes`)
      // The thin honest peer makes the download last 0.8 s or more; a violation closes at once.
      if (c.dropped) assert.ok(s.droppedWithin(500) > 0, `${c.name}: dropped right after its bad bytes`)
      else assert.equal(s.droppedWithin(500), 0, `${c.name}: liberal, kept (lib/wire/README.md)`)
    })
  } finally {
    await Promise.all(servers.map(s => s.close()))
    await honest.close()
  }
})

test('dialing (-o): every kind of hostile peer at once beside one honest peer; the file is exact', async (ctx) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-hostile-'))
  ctx.after(() => rm(dir, { recursive: true, force: true }))
  const honest = await startFakeSeeder(meta, t.data, { kind: 'honest' })
  ctx.after(() => honest.close())
  await withHostile(async (servers) => {
    const out = join(dir, 'file.bin')
    const dl = await downloadToDisk(meta, out, { peers: [...servers.map(s => local(s.port)), local(honest.port)], trackers: false, dht: false, listen: false })
    try {
      await within(30_000, 'disk download', dl.done)
    } finally { await dl.stop() }
    assert.ok((await readFile(out)).equals(t.data))
    assertDropped(servers)
  })
})

test('the handshake command against each hostile peer: a result or an error, never a crash', async () => {
  const hex = Buffer.from(meta.infoHash).toString('hex')
  // All at once: the peers are independent, and each may wait out the 3 s extension timeout.
  await Promise.all(HOSTILE_CASES.map(async (c) => {
    const bad = await startHostileServer(c, meta.infoHash, meta.pieceCount, meta.pieceLength)
    try {
      const stderr = new PassThrough()
      stderr.resume()
      const stdout = new PassThrough()
      stdout.resume()
      const code = await within(10_000, c.name, main(['handshake', hex, `127.0.0.1:${bad.port}`, '--timeout', '3'], { stdin: new PassThrough(), stdout, stderr, signal: new AbortController().signal }))
      assert.ok(code === 0 || code === 1, `${c.name}: exit ${code}`)
    } finally { await bad.close() }
  }))
})

test('magnet (BEP 9): the metadata arrives from the honest peer while every hostile kind is dialed too', async () => {
  const seed = await seederOnLoopback()
  try {
    await withHostile(async (servers) => {
      const magnet = parseMagnet(`magnet:?xt=urn:btih:${Buffer.from(meta.infoHash).toString('hex')}`)
      const got = await within(30_000, 'metadata', fetchMagnetMetadata(magnet, { peers: [...servers.map(s => local(s.port)), local(seed.port)], trackers: false, dht: false, timeoutMs: 25_000 }))
      assert.ok(Buffer.from(got.meta.infoBytes).equals(Buffer.from(meta.infoBytes)))
      HOSTILE_CASES.forEach((c, i) => assert.ok((servers[i] as HostileServer).connections() > 0, `${c.name}: dialed`))
    })
  } finally { await seed.close() }
})

test('accepting (seed): each hostile peer dials us with the bad bytes in its handshake\'s segment; we still serve', async () => {
  const seed = await seederOnLoopback()
  try {
    const closed = await Promise.all(HOSTILE_CASES.map(c => hostileDial(c, seed.port, meta.infoHash, meta.pieceCount, meta.pieceLength)))
    HOSTILE_CASES.forEach((c, i) => { if (c.dropped) assert.ok(closed[i], `${c.name}: dropped`) })
    const out = await within(20_000, 'download from the seeder', collect(download(meta, { peers: [local(seed.port)], trackers: false })))
    assert.ok(out.equals(t.data), 'the seeder still serves, byte-identical')
  } finally { await seed.close() }
})

test('accepting (a download to disk, which uploads): hostile peers dial it mid-download; the file is exact', async (ctx) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-hostile-in-'))
  ctx.after(() => rm(dir, { recursive: true, force: true }))
  // A slow honest peer keeps the download running while the hostile peers dial in.
  const honest = await startFakeSeeder(meta, t.data, { kind: 'slow', delayMs: 200 })
  ctx.after(() => honest.close())
  const out = join(dir, 'file.bin')
  const dl = await downloadToDisk(meta, out, { peers: [local(honest.port)], trackers: false, dht: false, listenHost: '127.0.0.1' })
  try {
    const port = dl.port
    assert.ok(port !== undefined, 'the download listens')
    // All at once: the download must still be running when the last one dials.
    const closed = await Promise.all(HOSTILE_CASES.map(c => hostileDial(c, port, meta.infoHash, meta.pieceCount, meta.pieceLength, 2000)))
    HOSTILE_CASES.forEach((c, i) => { if (c.dropped) assert.ok(closed[i], `${c.name}: dropped`) })
    assert.equal(dl.progress.piecesLeft > 0, true, 'the hostile peers came while the download ran')
    await within(60_000, 'disk download', dl.done)
  } finally { await dl.stop() }
  assert.ok((await readFile(out)).equals(t.data))
})

async function seederOnLoopback (): Promise<{ port: number, close: () => Promise<void> }> {
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const seeder = new Seeder({ meta, reader: new MemoryReader(t.data, meta.pieceLength), have: BitField.full(meta.pieceCount), listener, infoBytes: meta.infoBytes })
  seeder.start()
  return { port, close: async () => { await seeder.close(); await listener.close() } }
}
