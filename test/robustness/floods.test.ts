/**
 * Floods from a peer that never reads its socket (issue 10, item 3): whatever it asks, what we
 * queue for it must stay bounded, and we must keep serving everyone else.
 *
 * Each flood is a raw peer (test/robustness/flood-peer.ts) that handshakes, pauses its socket
 * for good, and writes one kind of message in ~1 MiB batches. We sample process memory through
 * the flood and until our side has read every byte it wrote (or dropped it), and assert:
 * - the resident set grew by less than RSS_BOUND at its peak (before the fix, 1 M BEP 9
 *   requests took it from 18 to 392 MB),
 * - live heap + ArrayBuffers after a full GC grew by less than RETAINED_BOUND (the flooder may
 *   still be connected: what it costs while it stays must be small),
 * - a peer asking for answers (BEP 9 requests, BEP 3 requests, requests while choked) is
 *   disconnected, since it asks and never reads,
 * - a well-behaved peer is served afterwards, byte-exact.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodePex, flagsFromByte } from '../../lib/extensions/pex-codec.js'
import { encodeUtMetadata } from '../../lib/extensions/ut-metadata-codec.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { download } from '../../lib/session/download.js'
import { connect } from '../../lib/wire/connect.js'
import { encodeExtendedHandshake } from '../../lib/wire/extended-handshake.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent, seededBytes } from '../swarm/fixture-torrent.js'
import { collect, fixture } from '../helpers.js'
import { fixturePayload, seedFixture, type FixtureSeed } from '../seed/fixture-seed.js'
import { GatedReader, MemoryReader } from '../seed/helpers.js'
import { next, within } from '../wire/helpers.js'
import { MemoryWatch, MiB, RawPeer, wire, type RawPeerOptions } from './flood-peer.js'

/** Peak growth of the resident set we accept during one flood (it includes the GC's garbage). */
const RSS_BOUND = 64 * MiB
/** Live heap + ArrayBuffers still held after a full GC, the flooder possibly still connected. */
const RETAINED_BOUND = 16 * MiB
/** What the issue measured with: one million messages. */
const BIG = 1_000_000
/** Floods of messages we never answer: enough to show growth per message, quick to parse. */
const SMALL = 200_000
const BLOCK = 16 * 1024

const META = parseTorrent(fixture('single.torrent'))
const PAYLOAD = fixturePayload(META)

interface Flood {
  readonly name: string
  readonly peer: RawPeerOptions
  /** One or more frames, written `count` times. */
  readonly unit: Uint8Array
  readonly count: number
  /** It asks for answers: it must end up disconnected. */
  readonly answered: boolean
}

/** Why an asker is dropped: the reply gate (it does not read our answers) or the Uploader's strikes. */
const DROPPED_FOR = /asks and does not read|request flood/
const FAST_EXT: RawPeerOptions = { fast: true, extended: true }
const PLAIN: RawPeerOptions = { fast: false, extended: false }
const cat = (frames: Uint8Array[]): Uint8Array => Buffer.concat(frames)

/**
 * `n` requests for different blocks of `length` bytes in pieces 0..pieces-1 of `pieceLength`
 * bytes (default: 16 KiB blocks of the single fixture's first three 32 KiB pieces): none is a
 * duplicate of another, so each must be held, refused or answered on its own.
 */
function distinctRequests (n: number, type: 'request' | 'cancel' = 'request', g = { pieces: 3, pieceLength: 2 * BLOCK, length: BLOCK }): Uint8Array {
  const frames: Uint8Array[] = []
  const starts = g.pieceLength - g.length + 1
  for (let i = 0; i < n; i++) frames.push(wire({ type, index: i % g.pieces, begin: Math.floor(i / g.pieces) % starts, length: g.length }))
  return cat(frames)
}

/** A request then its cancel, for `n` different blocks: each cancel takes a held request out. */
function requestCancelPairs (n: number): Uint8Array {
  const r = distinctRequests(n, 'request')
  const c = distinctRequests(n, 'cancel')
  const out = new Uint8Array(r.length + c.length)
  for (let i = 0; i < n; i++) {
    out.set(r.subarray(i * 17, i * 17 + 17), i * 34)
    out.set(c.subarray(i * 17, i * 17 + 17), i * 34 + 17)
  }
  return out
}

const metadataRequest = wire({ type: 'extended', id: 1, payload: encodeUtMetadata({ type: 'request', piece: 0 }) })
const pex = wire({ type: 'extended', id: 2, payload: encodePex({ added: Array.from({ length: 50 }, (_, i) => ({ host: `10.0.${i}.1`, port: 6881, flags: flagsFromByte(0) })), dropped: [] }) })
/** Distinct requests per unit: more than the 8192 we hold, so the queue fills before any repeats. */
const REQUESTS = 32768

const FLOODS: Flood[] = [
  { name: 'BEP 9 ut_metadata requests', peer: FAST_EXT, unit: metadataRequest, count: BIG, answered: true },
  { name: 'BEP 3 requests while unchoked (data), BEP 6 on', peer: { ...FAST_EXT, after: [wire({ type: 'interested' })] }, unit: distinctRequests(REQUESTS), count: Math.ceil(BIG / REQUESTS), answered: true },
  { name: 'BEP 3 requests while unchoked (data), BEP 6 off', peer: { ...PLAIN, after: [wire({ type: 'interested' })] }, unit: distinctRequests(REQUESTS), count: Math.ceil(BIG / REQUESTS), answered: true },
  { name: 'requests while choked, BEP 6 on (rejects)', peer: FAST_EXT, unit: distinctRequests(REQUESTS), count: Math.ceil(BIG / REQUESTS), answered: true },
  { name: 'requests while choked, BEP 6 off (silence)', peer: PLAIN, unit: distinctRequests(REQUESTS), count: Math.ceil(BIG / REQUESTS), answered: true },
  { name: 'keep-alives', peer: FAST_EXT, unit: wire({ type: 'keepAlive' }), count: SMALL, answered: false },
  { name: 'interested / not interested', peer: FAST_EXT, unit: cat([wire({ type: 'interested' }), wire({ type: 'notInterested' })]), count: SMALL / 2, answered: false },
  { name: 'cancels', peer: { ...FAST_EXT, after: [wire({ type: 'interested' })] }, unit: distinctRequests(REQUESTS, 'cancel'), count: Math.ceil(SMALL / REQUESTS), answered: false },
  { name: 'request / cancel pairs (BEP 6: a reject answers each cancel)', peer: { ...FAST_EXT, after: [wire({ type: 'interested' })] }, unit: requestCancelPairs(REQUESTS), count: Math.ceil(BIG / 2 / REQUESTS), answered: true },
  { name: 'bitfields', peer: FAST_EXT, unit: wire({ type: 'bitfield', bitfield: new Uint8Array(1) }), count: SMALL, answered: false },
  { name: 'have all / have none', peer: FAST_EXT, unit: cat([wire({ type: 'haveAll' }), wire({ type: 'haveNone' })]), count: SMALL / 2, answered: false },
  { name: 'haves', peer: FAST_EXT, unit: wire({ type: 'have', index: 1 }), count: SMALL, answered: false },
  { name: 'BEP 11 ut_pex messages', peer: FAST_EXT, unit: pex, count: SMALL / 10, answered: false },
  { name: 'BEP 10 extension handshakes', peer: FAST_EXT, unit: wire({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: { ut_metadata: 3 } }) }), count: SMALL, answered: false },
  { name: 'extended messages on an id we never gave', peer: FAST_EXT, unit: wire({ type: 'extended', id: 9, payload: new Uint8Array(20) }), count: SMALL, answered: false },
  { name: 'BEP 6 suggest / allowed fast / reject', peer: FAST_EXT, unit: cat([wire({ type: 'suggest', index: 0 }), wire({ type: 'allowedFast', index: 1 }), wire({ type: 'reject', index: 0, begin: 0, length: BLOCK })]), count: Math.ceil(SMALL / 3), answered: false },
  { name: 'choke / unchoke', peer: FAST_EXT, unit: cat([wire({ type: 'choke' }), wire({ type: 'unchoke' })]), count: SMALL / 2, answered: false },
  { name: 'BEP 5 port', peer: FAST_EXT, unit: wire({ type: 'port', port: 6881 }), count: SMALL, answered: false },
  { name: 'unrequested pieces', peer: FAST_EXT, unit: wire({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(64) }), count: SMALL / 4, answered: false },
  { name: 'unknown message ids', peer: FAST_EXT, unit: wire({ type: 'unknown', id: 99, payload: new Uint8Array(8) }), count: SMALL, answered: false }
]

/** Polls until `conn` has read every byte the flooder wrote, or closed. */
async function readAll (conn: () => PeerConnection | undefined, peer: RawPeer): Promise<void> {
  for (;;) {
    const c = conn()
    if (c === undefined || c.destroyed) return
    if ((c.socket as unknown as { bytesRead: number }).bytesRead >= peer.socket.bytesWritten) return
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

async function waitClosed (peer: RawPeer, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!peer.closed && Date.now() < end) {
    // A paused socket learns of the other side's close only by writing.
    peer.socket.write(wire({ type: 'keepAlive' }))
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return peer.closed
}

function report (name: string, r: { written: number }, peak: { rss: number, heap: number }, retained: number, dropped: boolean): string {
  return `${name}: ${r.written} written, rss +${(peak.rss / MiB).toFixed(1)} MiB, heap+buffers peak +${(peak.heap / MiB).toFixed(1)} MiB, retained +${(retained / MiB).toFixed(1)} MiB${dropped ? ', dropped' : ''}`
}

/** An honest leecher: interested, unchoked, one block byte-exact. */
/**
 * The flood itself, the same in every role: `f.count` units written while our side reads, then
 * memory (peak RSS, what a full GC leaves) within bounds, and a peer that asked for answers
 * dropped for the right reason.
 */
async function floodAndMeasure (t: { after: (fn: () => void) => void, diagnostic: (s: string) => void }, f: Flood, peer: RawPeer, ours: () => PeerConnection | undefined, why: () => Error | undefined): Promise<void> {
  const watch = new MemoryWatch()
  t.after(() => { watch.stop() })
  const r = await peer.flood(f.unit, f.count)
  await within(60_000, 'our side read the flood', readAll(ours, peer))
  const peak = watch.peak
  const retained = watch.retained()
  const dropped = f.answered ? await waitClosed(peer, 10_000) : peer.closed
  const reason = why()
  t.diagnostic(report(f.name, r, peak, retained, dropped) + (reason === undefined ? '' : ` (${reason.message})`))
  assert.ok(peak.rss < RSS_BOUND, `rss grew by ${peak.rss} bytes`)
  assert.ok(retained < RETAINED_BOUND, `${retained} bytes retained`)
  if (f.answered) {
    assert.ok(dropped, 'a peer that asks and never reads is disconnected')
    assert.match(reason?.message ?? '', DROPPED_FOR)
  }
}

async function servesHonestPeer (seed: FixtureSeed): Promise<void> {
  const conn = await within(5000, 'connect', connect({ host: '127.0.0.1', port: seed.port, infoHash: seed.meta.infoHash, pieceCount: seed.meta.pieceCount }))
  conn.on('error', () => {})
  try {
    conn.interested()
    for (;;) if ((await next(conn)).type === 'unchoke') break
    conn.request(1, BLOCK, BLOCK)
    const m = await next(conn, ['extended', 'haveAll', 'bitfield'])
    assert.equal(m.type, 'piece')
    if (m.type === 'piece') assert.ok(Buffer.from(m.block).equals(seed.payload.subarray(seed.meta.pieceLength + BLOCK, seed.meta.pieceLength + 2 * BLOCK)))
  } finally { conn.destroy() }
}

for (const f of FLOODS) {
  test(`seed: ${f.name} from a peer that never reads: memory stays bounded${f.answered ? ', the peer is dropped' : ''}, an honest peer is served`, async (t) => {
    const seed = await seedFixture('single', { infoBytes: META.infoBytes })
    t.after(() => seed.close())
    const peer = await RawPeer.dial(seed.port, seed.meta.infoHash, f.peer)
    t.after(() => { peer.close() })
    const port = peer.socket.localPort
    const ours = (): PeerConnection | undefined => [...seed.seeder.connections].find(c => (c.socket as { remotePort?: number }).remotePort === port)
    let why: Error | undefined
    seed.seeder.on('peer-closed', (_conn, err) => { why ??= err })
    await floodAndMeasure(t, f, peer, ours, () => why)
    await servesHonestPeer(seed)
  })
}

/**
 * In a download (the swarm is the reader): the peer we dial floods us. An honest seeder whose
 * disk answers only after the flood keeps the download alive meanwhile; the output must be exact.
 */
/** A peer with every piece of the single fixture (4 pieces), without BEP 6: a choke takes back our requests. */
const SEED_NO_FAST: RawPeerOptions = { fast: false, extended: true, after: [wire({ type: 'bitfield', bitfield: new Uint8Array([0xf0]) })] }
/** A BEP 6 peer with every piece that unchokes us at once. */
const SEED_FAST: RawPeerOptions = { fast: true, extended: true, after: [wire({ type: 'haveAll' }), wire({ type: 'unchoke' })] }
/** The blocks a download of the single fixture asks for first (4 pieces: 32 KiB, 32 KiB, 32 KiB, 1696 B). */
const FIRST_BLOCKS = cat([0, 1, 2].flatMap(index => [0, BLOCK].map(begin => wire({ type: 'reject', index, begin, length: BLOCK }))).concat([wire({ type: 'reject', index: 3, begin: 0, length: 1696 })]))
/**
 * Floods that make the download engine itself write: without BEP 6 a choke takes our requests
 * back and each unchoke makes lib/swarm/swarm.ts (refill) send them again, to a peer that reads
 * none of them (100 000 cycles: +130 to +330 MiB); with BEP 6 each reject of a block we asked
 * for frees it and the refill asks again (200 000 rejects: up to +27 MiB retained). The swarm
 * checks `backlogged(conn)` (lib/seed/reply-gate.ts) before refilling a peer; without that check
 * both fail.
 */
const DOWNLOAD_FLOODS: Flood[] = [
  { name: 'choke / unchoke from a peer with every piece, BEP 6 off (each unchoke invites our requests)', peer: SEED_NO_FAST, unit: cat([wire({ type: 'unchoke' }), wire({ type: 'choke' })]), count: SMALL / 4, answered: false },
  { name: 'BEP 6 rejects of the blocks we ask first, from a peer with every piece (each reject invites a new request)', peer: SEED_FAST, unit: FIRST_BLOCKS, count: Math.ceil(SMALL / 7), answered: false },
  ...FLOODS
  .filter(f => ['BEP 9 ut_metadata requests', 'BEP 11 ut_pex messages', 'BEP 10 extension handshakes', 'keep-alives', 'requests while choked, BEP 6 on (rejects)', 'haves'].includes(f.name))
  // Streaming to stdout we serve no pieces: requests go unanswered, so nothing piles up.
  .map(f => f.name.startsWith('requests') ? { ...f, answered: false } : f)
]

for (const f of DOWNLOAD_FLOODS) {
  test(`download: ${f.name} from a peer that never reads: memory stays bounded${f.answered ? ', the peer is dropped' : ''}, the download ends byte-identical`, async (t) => {
    const gated = new GatedReader(new MemoryReader(PAYLOAD, META.pieceLength))
    const honest = await seedFixture('single', { reader: gated })
    t.after(() => honest.close())
    const flooder = await RawPeer.listen(META.infoHash, f.peer)
    t.after(() => { flooder.server.close() })
    const stream = download(META, { peers: [{ host: '127.0.0.1', port: flooder.port }, { host: '127.0.0.1', port: honest.port }], trackers: false, stallTimeoutMs: 120_000 })
    const out = collect(stream)
    const peer = await within(10_000, 'the download dialed the flooder', flooder.peer)
    t.after(() => { peer.close() })
    let why: Error | undefined
    stream.swarm.on('peer-error', (addr, err) => { if (addr.port === flooder.port) why ??= err })
    const ours = (): PeerConnection | undefined => {
      const sessions = (stream.swarm as unknown as { sessions: Map<string, { addr: { port: number }, link: { connection?: PeerConnection } }> }).sessions
      for (const s of sessions.values()) if (s.addr.port === flooder.port) return s.link.connection
      return undefined
    }
    await floodAndMeasure(t, f, peer, ours, () => why)
    gated.release()
    assert.ok((await within(30_000, 'the download', out)).equals(honest.payload), 'byte-identical')
  })
}

/**
 * Downloading to disk we also serve (lib/swarm/upload-side.ts): a peer that dials our listener
 * floods us while our own download waits on a source that never unchokes. a.bin (8 pieces) is
 * on disk already, so there is something to serve.
 */
const SERVE = { pieces: 8, pieceLength: BLOCK, length: 1024 }
const DISK_FLOODS: Flood[] = [
  { name: 'BEP 9 ut_metadata requests', peer: FAST_EXT, unit: metadataRequest, count: BIG, answered: true },
  { name: 'BEP 3 requests while unchoked (data), BEP 6 on', peer: { ...FAST_EXT, after: [wire({ type: 'interested' })] }, unit: distinctRequests(REQUESTS, 'request', SERVE), count: Math.ceil(BIG / REQUESTS), answered: true },
  { name: 'BEP 3 requests while unchoked (data), BEP 6 off', peer: { ...PLAIN, after: [wire({ type: 'interested' })] }, unit: distinctRequests(REQUESTS, 'request', SERVE), count: Math.ceil(BIG / REQUESTS), answered: true },
  { name: 'requests while choked, BEP 6 on (rejects)', peer: FAST_EXT, unit: distinctRequests(REQUESTS, 'request', SERVE), count: Math.ceil(BIG / REQUESTS), answered: true },
  { name: 'keep-alives', peer: FAST_EXT, unit: wire({ type: 'keepAlive' }), count: SMALL, answered: false }
]

for (const f of DISK_FLOODS) {
  test(`download to disk, serving: ${f.name} from a peer that dialed us and never reads: memory stays bounded${f.answered ? ', the peer is dropped' : ''}, an honest peer is served`, async (t) => {
    const a = seededBytes(8 * BLOCK, 71)
    const b = seededBytes(5 * BLOCK + 777, 72)
    const made = makeTorrent({ length: 0, pieceLength: BLOCK, name: 'album', files: [{ path: ['a.bin'], length: a.length }, { path: ['b.bin'], length: b.length }], data: Buffer.concat([a, b]) })
    const dir = mkdtempSync(join(tmpdir(), 'bt-floods-'))
    t.after(() => { rmSync(dir, { recursive: true, force: true }) })
    mkdirSync(join(dir, 'album'))
    writeFileSync(join(dir, 'album', 'a.bin'), a)
    const choking = await startFakeSeeder(made.meta, made.data, { kind: 'choking' })
    t.after(() => choking.close())
    const dl = await downloadToDisk(made.meta, dir, { peers: [{ host: '127.0.0.1', port: choking.port }], trackers: false, listenHost: '127.0.0.1', stallTimeoutMs: 120_000 })
    t.after(() => dl.stop())
    const port = dl.port
    assert.ok(port !== undefined)
    const peer = await RawPeer.dial(port, made.meta.infoHash, f.peer)
    t.after(() => { peer.close() })
    let why: Error | undefined
    dl.swarm.on('peer-error', (addr, err) => { if (addr.port === peer.socket.localPort) why ??= err })
    const ours = (): PeerConnection | undefined => {
      const sessions = (dl.swarm as unknown as { sessions: Map<string, { addr: { port: number }, link: { connection?: PeerConnection } }> }).sessions
      for (const s of sessions.values()) if (s.addr.port === peer.socket.localPort) return s.link.connection
      return undefined
    }
    await floodAndMeasure(t, f, peer, ours, () => why)
    // An honest leecher dialing us now gets a.bin's second block, byte-exact.
    const conn = await within(5000, 'connect', connect({ host: '127.0.0.1', port, infoHash: made.meta.infoHash, pieceCount: made.meta.pieceCount }))
    conn.on('error', () => {})
    t.after(() => { conn.destroy() })
    conn.interested()
    for (;;) if ((await next(conn)).type === 'unchoke') break
    conn.request(1, 0, BLOCK)
    const m = await next(conn, ['extended', 'haveAll', 'bitfield', 'have'])
    assert.equal(m.type, 'piece')
    if (m.type === 'piece') assert.ok(Buffer.from(m.block).equals(a.subarray(BLOCK, 2 * BLOCK)))
  })
}
