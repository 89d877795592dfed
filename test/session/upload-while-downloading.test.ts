/**
 * Disk mode uploads while it downloads (BEP 3 choking, `have`): peers dial our listener and get
 * the pieces already on disk, and every piece written is announced to the peers that lack it.
 * The stdout mode keeps no pieces and never listens.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer as createHttpServer } from 'node:http'
import { Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { download } from '../../lib/session/download.js'
import { downloadToDisk, type DiskDownload } from '../../lib/session/download-to-disk.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { connect } from '../../lib/wire/connect.js'
import { generatePeerId } from '../../lib/wire/peer-id.js'
import type { Message } from '../../lib/wire/messages.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import type { OurExtensions } from '../../lib/wire/peer-connection-options.js'
import { decodeBencode, isDict } from '../../lib/bencode/decode.js'
import { decodeCompactPeers } from '../../lib/tracker/compact.js'
import WebTorrent, { type Torrent } from 'webtorrent'
import { within } from '../wire/helpers.js'
import { makeTorrent, seededBytes } from '../swarm/fixture-torrent.js'
import { startFakeSeeder, type FakeSeeder } from '../swarm/fake-seeder.js'

const LOOPBACK = '127.0.0.1'
const BLOCK = 16 * 1024
// secure: 0, as in test/seed/interop.test.ts: webtorrent's default MSE/PE handshake is not a BEP.
const WEBTORRENT_OPTS = { dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, tracker: false, secure: 0 } as const

/** Polls `cond` every 10 ms; fails after `ms`. */
async function until (cond: () => boolean, ms: number, what: string): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited > ms) assert.fail(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

async function collect (stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array))
  return Buffer.concat(parts)
}

/** Our own wire client dialing the download's listener, recording what it is sent. */
async function dialUs (dl: DiskDownload, pieceCount: number, peerId?: Uint8Array, extensions?: OurExtensions): Promise<{ conn: PeerConnection, messages: Message[] }> {
  const port = dl.port
  assert.ok(port !== undefined, 'disk mode listens')
  const conn = await connect({ host: LOOPBACK, port, infoHash: dl.meta.infoHash, pieceCount, have: new BitField(pieceCount), handshakeTimeout: 5000, connectTimeout: 5000, ...(peerId === undefined ? {} : { peerId }), ...(extensions === undefined ? {} : { extensions }) })
  const messages: Message[] = []
  conn.on('error', () => {})
  conn.on('data', (m: unknown) => messages.push(m as Message))
  return { conn, messages }
}

test('BEP 3 upload while downloading: a second leecher dialing our listener gets the pieces we already have, byte-identical', async () => {
  const a = seededBytes(8 * BLOCK, 61)
  const b = seededBytes(5 * BLOCK + 777, 62)
  const t = makeTorrent({ length: 0, pieceLength: BLOCK, name: 'album', files: [{ path: ['a.bin'], length: a.length }, { path: ['b.bin'], length: b.length }], data: Buffer.concat([a, b]) })
  const dir = mkdtempSync(join(tmpdir(), 'bt-upload-'))
  const seeders: FakeSeeder[] = []
  let dl: DiskDownload | undefined
  try {
    // a.bin is on disk already (the resume check keeps it); b.bin is not.
    mkdirSync(join(dir, 'album'))
    writeFileSync(join(dir, 'album', 'a.bin'), a)
    // Phase 1: our only source never unchokes, so the download is still running while we serve.
    const choking = await startFakeSeeder(t.meta, t.data, { kind: 'choking' })
    seeders.push(choking)
    dl = await downloadToDisk(t.meta, dir, { peers: [{ host: LOOPBACK, port: choking.port }], trackers: false, listenHost: LOOPBACK, stallTimeoutMs: 30_000 })
    assert.equal(dl.progress.resumed, a.length)
    const port = dl.port
    assert.ok(port !== undefined)
    const leecher = download(t.meta, { file: 0, peers: [{ host: LOOPBACK, port }], trackers: false, stallTimeoutMs: 20_000 })
    assert.ok((await collect(leecher)).equals(a), 'the leecher got a.bin from us, byte-identical')
    assert.ok(dl.progress.uploaded >= a.length, `uploaded ${dl.progress.uploaded} bytes`)
    assert.equal(dl.progress.piecesLeft, 6, 'our own download has not moved')
    // Phase 2: an honest seeder finishes our download.
    const honest = await startFakeSeeder(t.meta, t.data, { kind: 'honest' })
    seeders.push(honest)
    dl.swarm.addPeer({ host: LOOPBACK, port: honest.port }, 'manual')
    await dl.done
    assert.ok(readFileSync(join(dir, 'album', 'b.bin')).equals(b))
  } finally {
    await dl?.stop()
    for (const s of seeders) await s.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('interop BEP 3: a webtorrent leecher dialing our listener mid-download verifies the pieces we have on disk', async () => {
  const data = seededBytes(10 * BLOCK, 66)
  const t = makeTorrent({ length: data.length, pieceLength: BLOCK, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-upload-'))
  const out = join(dir, 'x.bin')
  const choking = await startFakeSeeder(t.meta, data, { kind: 'choking' })
  const client = new WebTorrent(WEBTORRENT_OPTS)
  client.on('error', () => {})
  let dl: DiskDownload | undefined
  try {
    // Pieces 0..5 on disk (a .part left by an earlier run); 6..9 missing.
    writeFileSync(out + '.part', data.subarray(0, 6 * BLOCK))
    dl = await downloadToDisk(t.meta, out, { peers: [{ host: LOOPBACK, port: choking.port }], trackers: false, listenHost: LOOPBACK, stallTimeoutMs: 30_000 })
    assert.equal(dl.progress.resumed, 6 * BLOCK)
    const torrent = await within(10_000, 'webtorrent ready', new Promise<Torrent>((resolve, reject) => {
      const wt = client.add(Buffer.from(t.torrent), { path: join(dir, 'wt') }, resolve)
      wt.on('error', reject)
    }))
    const verified = new Set<number>()
    const six = within(20_000, 'webtorrent verified six pieces', new Promise<void>(resolve => {
      torrent.on('verified', (i: number) => { verified.add(i); if (verified.size === 6) resolve() })
    }))
    torrent.addPeer(`${LOOPBACK}:${dl.port as number}`)
    await six
    assert.deepEqual([...verified].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5], 'its own SHA-1 check passed on every piece we had')
    assert.ok(dl.progress.uploaded >= 6 * BLOCK)
  } finally {
    await new Promise<void>(resolve => client.destroy(() => resolve()))
    await dl?.stop()
    await choking.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('BEP 3 have: a connected peer is told each piece once it is on disk, and is served it', async () => {
  const data = seededBytes(12 * BLOCK, 63)
  const t = makeTorrent({ length: data.length, pieceLength: BLOCK, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-upload-'))
  const out = join(dir, 'x.bin')
  const seeders: FakeSeeder[] = []
  let dl: DiskDownload | undefined
  let peer: PeerConnection | undefined
  try {
    const choking = await startFakeSeeder(t.meta, data, { kind: 'choking' })
    seeders.push(choking)
    dl = await downloadToDisk(t.meta, out, { peers: [{ host: LOOPBACK, port: choking.port }], trackers: false, listenHost: LOOPBACK, stallTimeoutMs: 30_000 })
    const { conn, messages } = await dialUs(dl, t.meta.pieceCount)
    peer = conn
    // What each `have` promises is on disk at the moment it arrives.
    const onDiskWhenTold: boolean[] = []
    conn.on('data', (m: unknown) => {
      const msg = m as Message
      if (msg.type !== 'have') return
      const at = msg.index * BLOCK
      onDiskWhenTold.push(readFileSync(out + '.part').subarray(at, at + BLOCK).equals(data.subarray(at, at + BLOCK)))
    })
    const availability = (): Message | undefined => messages.find(m => m.type === 'haveNone' || m.type === 'haveAll' || m.type === 'bitfield')
    await until(() => availability() !== undefined, 5000, 'our pieces')
    assert.equal(availability()?.type, 'haveNone', 'BEP 6: nothing on disk yet')
    // A partial seed: it has the first 4 pieces, so the download gets those and waits.
    const partial = await startFakeSeeder(t.meta, data, { kind: 'honest' }, { pieces: 4 })
    seeders.push(partial)
    dl.swarm.addPeer({ host: LOOPBACK, port: partial.port }, 'manual')
    const haves = (): number[] => messages.flatMap(m => m.type === 'have' ? [m.index] : [])
    await until(() => haves().length >= 4, 10_000, 'four have messages')
    assert.deepEqual(haves().sort((x, y) => x - y), [0, 1, 2, 3], 'each piece announced once')
    assert.deepEqual(onDiskWhenTold, haves().map(() => true))
    // Served from disk: ask for every piece we were told of.
    conn.interested()
    await until(() => !conn.peerChoking, 5000, 'an unchoke (a free upload slot)')
    for (const i of haves()) conn.request(i, 0, BLOCK)
    const blocks = (): Message[] => messages.filter(m => m.type === 'piece')
    await until(() => blocks().length === haves().length, 5000, 'the blocks')
    for (const m of blocks()) {
      assert.ok(m.type === 'piece')
      assert.ok(Buffer.from(m.block).equals(data.subarray(m.index * BLOCK, (m.index + 1) * BLOCK)), `piece ${m.index}`)
    }
    const honest = await startFakeSeeder(t.meta, data, { kind: 'honest' })
    seeders.push(honest)
    dl.swarm.addPeer({ host: LOOPBACK, port: honest.port }, 'manual')
    await dl.done
    assert.ok(readFileSync(out).equals(data))
  } finally {
    peer?.destroy()
    await dl?.stop()
    for (const s of seeders) await s.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('incoming peers respect the pool: a second connection from one peer refused, over the cap refused, a dial to ourselves banned', async () => {
  const data = seededBytes(4 * BLOCK, 64)
  const t = makeTorrent({ length: data.length, pieceLength: BLOCK, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-upload-'))
  const choking = await startFakeSeeder(t.meta, data, { kind: 'choking' })
  let dl: DiskDownload | undefined
  try {
    dl = await downloadToDisk(t.meta, join(dir, 'x.bin'), { peers: [{ host: LOOPBACK, port: choking.port }], trackers: false, listenHost: LOOPBACK, maxPeers: 3, stallTimeoutMs: 30_000 })
    const swarm = dl.swarm
    await until(() => swarm.stats.peers === 1, 5000, 'the seeder connected')
    const ourAddr = { host: LOOPBACK, port: dl.port as number }
    swarm.addPeer(ourAddr, 'manual')
    await until(() => swarm.pool.isBanned(ourAddr), 5000, 'our own address banned')
    assert.equal(swarm.stats.peers, 1, 'neither side of the self-connection joined')
    const id = generatePeerId()
    const first = await dialUs(dl, t.meta.pieceCount, id)
    await until(() => swarm.stats.peers === 2, 5000, 'the first incoming peer admitted')
    const again = await dialUs(dl, t.meta.pieceCount, id)
    await until(() => again.conn.destroyed, 5000, 'the same peer\'s second connection closed')
    const second = await dialUs(dl, t.meta.pieceCount)
    await until(() => swarm.stats.peers === 3, 5000, 'another peer admitted')
    const third = await dialUs(dl, t.meta.pieceCount)
    await until(() => third.conn.destroyed, 5000, 'a fourth connection closed (cap of 3)')
    assert.equal(first.conn.destroyed, false)
    assert.equal(second.conn.destroyed, false)
    first.conn.destroy()
    second.conn.destroy()
  } finally {
    await dl?.stop()
    await choking.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('stdout mode keeps no pieces and never listens (the disk mode does)', async () => {
  const data = seededBytes(64 * BLOCK, 65)
  const t = makeTorrent({ length: data.length, pieceLength: 4 * BLOCK, data })
  const seeder = await startFakeSeeder(t.meta, data, { kind: 'slow', delayMs: 1 })
  // Every server in this process listens through here: count the calls and who is still open.
  const listen = Server.prototype.listen
  const listening = new Set<Server>()
  let listens = 0
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    listens++
    listening.add(this)
    this.once('close', () => listening.delete(this))
    return (listen as (...a: unknown[]) => Server).apply(this, args)
  } as typeof listen
  const dir = mkdtempSync(join(tmpdir(), 'bt-upload-'))
  try {
    const stream = download(t.meta, { peers: [{ host: LOOPBACK, port: seeder.port }], trackers: false, stallTimeoutMs: 20_000 })
    assert.ok((await collect(stream)).equals(data))
    assert.equal(listens, 0, 'the stdout download never listened')
    const dl = await downloadToDisk(t.meta, join(dir, 'x.bin'), { peers: [{ host: LOOPBACK, port: seeder.port }], trackers: false, listenHost: LOOPBACK, stallTimeoutMs: 20_000 })
    assert.equal(listens, 1, 'the disk mode listens')
    assert.equal(listening.size, 1)
    await dl.done
    await dl.stop()
    assert.equal(listening.size, 0, 'and stops listening when done')
  } finally {
    Server.prototype.listen = listen
    await seeder.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('BEP 11 for incoming peers: PEX names a peer that dialed us by its BEP 10 listen port, never its outgoing port', async () => {
  const data = seededBytes(4 * BLOCK, 67)
  const t = makeTorrent({ length: data.length, pieceLength: BLOCK, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-upload-'))
  const choking = await startFakeSeeder(t.meta, data, { kind: 'choking' })
  let dl: DiskDownload | undefined
  const conns: PeerConnection[] = []
  try {
    dl = await downloadToDisk(t.meta, join(dir, 'x.bin'), { peers: [{ host: LOOPBACK, port: choking.port }], trackers: false, listenHost: LOOPBACK, stallTimeoutMs: 30_000 })
    const swarm = dl.swarm
    await until(() => swarm.stats.peers === 1, 5000, 'the seeder connected')
    const b = await dialUs(dl, t.meta.pieceCount, undefined, { m: { ut_pex: 3 }, port: 6666 })
    conns.push(b.conn)
    // Its BEP 10 handshake went out before `interested` on the same wire: once unchoked, we read it.
    b.conn.interested()
    await until(() => !b.conn.peerChoking, 5000, 'B unchoked')
    const a = await dialUs(dl, t.meta.pieceCount, undefined, { m: { ut_pex: 3 }, port: 5555 })
    conns.push(a.conn)
    const bOutgoingPort = (b.conn.socket as Socket).localPort as number
    // The swarm sends PEX every 5 s at most (PEX_CHECK_MS); the first message to A is due at once.
    await until(() => a.messages.some(m => m.type === 'extended' && m.id === 3), 10_000, 'a PEX message to A')
    const pex = a.messages.find(m => m.type === 'extended' && m.id === 3)
    assert.ok(pex?.type === 'extended')
    // Read raw: our decoder keeps one peer per IP (BEP 11's advice), and here every peer is 127.0.0.1.
    const dict = decodeBencode(pex.payload)
    assert.ok(isDict(dict) && dict.added instanceof Uint8Array)
    const added = decodeCompactPeers(dict.added, 4).peers.map(p => `${p.host}:${p.port}`)
    assert.ok(added.includes(`${LOOPBACK}:6666`), `B by its listen port: ${added.join(' ')} (seeder ${choking.port}, B out ${bOutgoingPort})`)
    assert.ok(added.includes(`${LOOPBACK}:${choking.port}`), 'the seeder we dialed')
    assert.ok(!added.includes(`${LOOPBACK}:${bOutgoingPort}`), 'never B\'s outgoing port')
    assert.ok(!added.includes(`${LOOPBACK}:5555`), 'never A itself')
  } finally {
    for (const c of conns) c.destroy()
    await dl?.stop()
    await choking.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the trackers hear the port we listen on (disk) and the given one (stdout, unchanged)', async () => {
  const data = seededBytes(4 * BLOCK, 68)
  const started: string[] = []
  // A tracker that records the `port` of each `started` announce and knows no peers.
  const tracker = createHttpServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams
    if (q.get('event') === 'started') started.push(q.get('port') ?? '')
    res.end('d8:intervali1800e5:peers0:e')
  })
  tracker.listen(0, LOOPBACK)
  await new Promise(resolve => tracker.once('listening', resolve))
  const announce = `http://${LOOPBACK}:${(tracker.address() as { port: number }).port}/announce`
  const t = makeTorrent({ length: data.length, pieceLength: BLOCK, data, announce })
  const choking = await startFakeSeeder(t.meta, data, { kind: 'choking' })
  const dir = mkdtempSync(join(tmpdir(), 'bt-upload-'))
  let dl: DiskDownload | undefined
  try {
    dl = await downloadToDisk(t.meta, join(dir, 'x.bin'), { peers: [{ host: LOOPBACK, port: choking.port }], listenHost: LOOPBACK, stallTimeoutMs: 30_000 })
    await until(() => started.length === 1, 5000, 'the disk download\'s announce')
    assert.equal(started[0], String(dl.port))
    await dl.stop()
    const stream = download(t.meta, { peers: [{ host: LOOPBACK, port: choking.port }], port: 7001, stallTimeoutMs: 30_000 })
    stream.on('error', () => {})
    await until(() => started.length === 2, 5000, 'the stdout download\'s announce')
    assert.equal(started[1], '7001')
    stream.destroy()
    await stream.stopped
  } finally {
    await dl?.stop()
    await choking.close()
    tracker.closeAllConnections()
    await new Promise(resolve => tracker.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  }
})
