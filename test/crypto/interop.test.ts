import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect as netConnect, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import Wire from 'bittorrent-protocol'
import { Server as TrackerServer } from 'bittorrent-tracker'
import WebTorrent, { type Torrent } from 'webtorrent'
import { EncryptedStream, encryptionOf } from '../../lib/crypto/encrypted-stream.js'
import { CRYPTO_RC4 } from '../../lib/crypto/mse-handshake.js'
import { pieceHash, pieceLengthAt } from '../../lib/metainfo/geometry.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder } from '../../lib/seed/seeder.js'
import { download } from '../../lib/session/download.js'
import { HttpTracker } from '../../lib/tracker/http-tracker.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { connect } from '../../lib/wire/connect.js'
import { collect } from '../helpers.js'
import { MemoryReader } from '../seed/helpers.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { next, within } from '../wire/helpers.js'

// MSE/PE against clients no one here wrote: bittorrent-protocol@5 (its mse.js), webtorrent@3
// (secure: its default, MSE first), and libtorrent 2.0 requiring encryption (pe_forced both
// ways, RC4 only) when Debian's python3-libtorrent is importable.

const PIECE = 64 * 1024
const t0 = makeTorrent({ length: 40 * PIECE + 777, pieceLength: PIECE })
const { meta } = t0
const HERE = dirname(fileURLToPath(import.meta.url))
// The .py is not compiled: it stays beside the .ts source.
const LT_SCRIPT = join(HERE, '..', '..', '..', 'test', 'crypto', 'libtorrent-peer.py')
const PYTHON = '/usr/bin/python3'
const libtorrent = spawnSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore', timeout: 20_000 }).status === 0
const aria2 = spawnSync('aria2c', ['--version'], { stdio: 'ignore', timeout: 20_000 }).status === 0
const ARIA2_SKIP = aria2 ? false : 'aria2c is not installed (apt-get install aria2)'
const LT_SKIP = libtorrent ? false : 'python3-libtorrent is not importable by /usr/bin/python3 (apt-get install python3-libtorrent)'

interface MseWire {
  on: (event: string, fn: (...args: any[]) => void) => void
  once: (event: string, fn: (...args: any[]) => void) => void
  startEncryption: (infoHashHex: string) => void
  setInfoHash: (infoHashHex: string) => void
  handshake: (infoHash: Uint8Array, peerId: Uint8Array, ext?: { fast?: boolean }) => void
  bitfield: (bf: Uint8Array) => void
  unchoke: () => void
  interested: () => void
  piece: (index: number, offset: number, block: Uint8Array) => void
  request: (index: number, offset: number, length: number, cb: (err: Error | null, block: Uint8Array) => void) => void
  destroy: () => void
  _encryptionMethod: number | null | undefined
}
/** bittorrent-protocol's Wire with its MSE: peEnabled 2 = RC4 only. */
const MseWireClass = Wire as unknown as new (type: string, peEnabled: number) => MseWire

function pipeWire (socket: Socket, wire: MseWire): void {
  socket.on('error', () => {})
  wire.on('error', () => {})
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  ;(wire as unknown as NodeJS.ReadableStream).pipe(socket)
}

async function ourSeeder (t: TestContext): Promise<{ port: number, seeder: Seeder, refused: Error[], encryptions: string[] }> {
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const refused: Error[] = []
  listener.on('refused', (err) => { refused.push(err) })
  // What each accepted connection runs over, seen from our side (the peer's own report may come
  // after it already closed the connection).
  const encryptions: string[] = []
  listener.on('peer', (conn) => { encryptions.push(encryptionOf(conn.socket)) })
  const seeder = new Seeder({ meta, reader: new MemoryReader(t0.data, meta.pieceLength), have: BitField.full(meta.pieceCount), listener, infoBytes: meta.infoBytes })
  seeder.start()
  t.after(async () => { await seeder.close(); await listener.close() })
  return { port, seeder, refused, encryptions }
}

test('interop MSE: a bittorrent-protocol leecher requiring RC4 (its initiator, IA empty) gets every block from our Seeder, hashes match', async (t) => {
  const { port } = await ourSeeder(t)
  const socket = netConnect({ host: '127.0.0.1', port })
  const wire = new MseWireClass('tcpOutgoing', 2)
  pipeWire(socket, wire)
  t.after(() => { wire.destroy(); socket.destroy() })
  const cryptoDone = within(5000, 'crypto handshake', new Promise<void>(resolve => wire.once('crypto-handshake', () => resolve())))
  const unchoked = within(10_000, 'unchoke', new Promise<void>(resolve => wire.once('unchoke', () => resolve())))
  await new Promise<void>(resolve => socket.once('connect', () => resolve()))
  wire.startEncryption(meta.infoHashHex)
  await cryptoDone
  assert.equal(wire._encryptionMethod, CRYPTO_RC4, 'RC4 selected')
  wire.handshake(meta.infoHash, Buffer.from('-WW0300-mseinterop01'), { fast: true })
  wire.interested()
  await unchoked
  for (let i = 0; i < meta.pieceCount; i++) {
    const len = pieceLengthAt(meta, i)
    const blocks: Promise<Uint8Array>[] = []
    for (let b = 0; b < len; b += 16384) {
      blocks.push(within(10_000, `piece ${i}`, new Promise((resolve, reject) => {
        wire.request(i, b, Math.min(16384, len - b), (err, block) => { if (err !== null) reject(err); else resolve(block) })
      })))
    }
    const piece = Buffer.concat(await Promise.all(blocks))
    assert.deepEqual(createHash('sha1').update(piece).digest(), Buffer.from(pieceHash(meta, i)), `piece ${i}`)
  }
})

test('interop MSE: our dial (encryption require, BitTorrent handshake inside IA) to a bittorrent-protocol responder requiring RC4; a piece comes back', async (t) => {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    const wire = new MseWireClass('tcpIncoming', 2)
    pipeWire(socket, wire)
    wire.once('crypto-infohash', () => { wire.setInfoHash(meta.infoHashHex) })
    wire.once('handshake', () => {
      wire.handshake(meta.infoHash, Buffer.from('-WW0300-mseinterop02'), { fast: false })
      wire.bitfield(BitField.full(meta.pieceCount).bytes)
      wire.unchoke()
    })
    wire.on('request', (index: number, offset: number, length: number, respond: (err: Error | null, block?: Uint8Array) => void) => {
      const at = index * meta.pieceLength + offset
      respond(null, t0.data.subarray(at, at + length))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }))
  const port = (server.address() as { port: number }).port
  const conn = await within(10_000, 'dial', connect({ host: '127.0.0.1', port, infoHash: meta.infoHash, pieceCount: meta.pieceCount, encryption: 'require' }))
  t.after(() => { conn.destroy() })
  assert.ok(conn.socket instanceof EncryptedStream && conn.socket.mse?.method === CRYPTO_RC4)
  assert.equal((await next(conn)).type, 'bitfield')
  assert.equal((await next(conn)).type, 'unchoke')
  conn.interested()
  conn.request(3, 16384, 16384)
  const m = await next(conn)
  assert.ok(m.type === 'piece' && m.index === 3 && m.begin === 16384)
  assert.ok(Buffer.from(m.block).equals(t0.data.subarray(3 * PIECE + 16384, 3 * PIECE + 32768)))
})

test('interop MSE: a webtorrent leecher with its default secure mode (MSE first) downloads from our Seeder, byte-identical, on its first connection', async (t) => {
  const { port, refused } = await ourSeeder(t)
  const dir = await mkdtemp(join(tmpdir(), 'bt-mse-wt-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, tracker: false })
  client.on('error', () => {})
  t.after(() => new Promise<void>(resolve => client.destroy(() => resolve())))
  const torrent = await within(10_000, 'webtorrent ready', new Promise<Torrent>((resolve, reject) => {
    const tt = client.add(Buffer.from(t0.torrent), { path: dir }, resolve)
    tt.on('error', reject)
  }))
  torrent.addPeer(`127.0.0.1:${port}`)
  if (!torrent.done) await within(30_000, 'webtorrent done', new Promise<void>(resolve => torrent.once('done', () => resolve())))
  assert.ok((await readFile(join(dir, 'test.bin'))).equals(t0.data))
  assert.deepEqual(refused, [], 'no connection of it was refused')
})

/** Starts test/crypto/libtorrent-peer.py; resolves with its first JSON line. */
async function python (t: TestContext, args: string[]): Promise<{ child: ChildProcess, first: Record<string, unknown>, lines: AsyncIterator<string> }> {
  const child = spawn(PYTHON, [LT_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  let spawnError: Error | undefined
  child.on('error', err => { spawnError = err })
  t.after(() => { child.stdin?.end(); if (child.exitCode === null) child.kill('SIGKILL') })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  const got = await within(60_000, 'libtorrent started', lines.next())
  if (got.done === true) await new Promise(resolve => setImmediate(resolve))
  assert.ok(got.done !== true, `libtorrent printed its first line (it ended: exit ${String(child.exitCode)}, signal ${String(child.signalCode)}${spawnError === undefined ? '' : `, ${spawnError.message}`})`)
  return { child, first: JSON.parse(got.value) as Record<string, unknown>, lines }
}

test('interop MSE: from a libtorrent seeder that requires encryption, download() with the default policy is byte-identical', { skip: LT_SKIP }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-mse-lt-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const data = randomBytes(3 * 1024 * 1024 + 12345)
  await writeFile(join(dir, 'data.bin'), data)
  const torrentPath = join(dir, 'data.torrent')
  const { first } = await python(t, ['seed', join(dir, 'data.bin'), torrentPath])
  const ltMeta = parseTorrent(await readFile(torrentPath))
  const out = await within(60_000, 'download', collect(download(ltMeta, { peers: [{ host: '127.0.0.1', port: first.port as number }], trackers: false, dht: false })))
  assert.ok(out.equals(data), 'byte-identical')
})

test('interop MSE: a libtorrent leecher that requires encryption downloads from our Seeder', { skip: LT_SKIP }, async (t) => {
  const { port, refused, encryptions } = await ourSeeder(t)
  const dir = await mkdtemp(join(tmpdir(), 'bt-mse-ltl-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const torrentPath = join(dir, 'x.torrent')
  await writeFile(torrentPath, t0.torrent)
  const { first } = await python(t, ['leech', torrentPath, dir, `127.0.0.1:${port}`])
  assert.equal(first.done, true)
  assert.ok(encryptions.includes('rc4'), `an RC4 connection (ours: ${encryptions.join(', ')}; libtorrent saw rc4: ${String(first.rc4)})`)
  assert.ok((await readFile(join(dir, 'test.bin'))).equals(t0.data))
  assert.deepEqual(refused, [], 'its first connection worked')
})

test('interop MSE: aria2c with --bt-require-crypto=true downloads from our Seeder (it finds us through a tracker), byte-identical, no refused connection', { skip: ARIA2_SKIP }, async (t) => {
  const { port, refused } = await ourSeeder(t)
  const tracker = new TrackerServer({ udp: false, ws: false, stats: false, http: true })
  await new Promise<void>(resolve => tracker.listen(0, '127.0.0.1', () => resolve()))
  t.after(() => new Promise<void>(resolve => tracker.close(() => resolve())))
  const announce = `http://127.0.0.1:${(tracker.http?.address() as { port: number }).port}/announce`
  // We announce the seeder ourselves (the Seeder here has no Announcer): aria2c has no --peer.
  await new HttpTracker(announce).announce({ infoHash: meta.infoHash, peerId: Buffer.from('-bs0100-mseinterop03'), port, uploaded: 0, downloaded: 0, left: 0, event: 'started', numwant: 0, key: 1 }, AbortSignal.timeout(5000))
  const dir = await mkdtemp(join(tmpdir(), 'bt-mse-aria2-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const torrentPath = join(dir, 'x.torrent')
  await writeFile(torrentPath, t0.torrent)
  const child = spawn('aria2c', [
    `--dir=${dir}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
    `--bt-tracker=${announce}`, '--seed-time=0', '--file-allocation=none', '--summary-interval=0', '--console-log-level=error',
    '--download-result=hide', '--bt-require-crypto=true', '--bt-min-crypto-level=arc4', torrentPath
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await within(60_000, 'aria2c', new Promise<number | null>(resolve => child.once('exit', resolve)))
  assert.equal(code, 0, `aria2c exit code (stderr: ${stderr})`)
  assert.ok((await readFile(join(dir, 'test.bin'))).equals(t0.data))
  assert.deepEqual(refused, [], 'its first connection worked')
})
