import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder } from '../../lib/seed/seeder.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { connect, waitForHandshake } from '../../lib/wire/connect.js'
import { PeerConnection } from '../../lib/wire/peer-connection.js'
import { dialEither } from '../../lib/utp/dial-policy.js'
import { MemoryReader } from '../seed/helpers.js'
import { within } from '../wire/helpers.js'
import { openTransport, serveOverUtp, swarmDownload, utpDialer, utpSkip } from './helpers.js'
import { libtorrentSkip, runLibtorrent } from './libtorrent.js'

const skip = utpSkip() || libtorrentSkip()
const SIZE = 3 * 1024 * 1024 + 12345

/** libtorrent with incoming TCP off still accepts on its TCP port, then closes without a handshake. */
async function servesOverTcp (port: number, infoHash: Uint8Array): Promise<boolean> {
  try {
    const conn = await connect({ host: '127.0.0.1', port, infoHash, connectTimeout: 5000, handshakeTimeout: 5000 })
    conn.destroy()
    return true
  } catch {
    return false
  }
}

test('interop BEP 29: a libtorrent 2.0 seeder with TCP off (uTP only) -> a Swarm dialing through lib/utp, byte-identical', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-stream-utp-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const payload = randomBytes(SIZE)
  await writeFile(join(dir, 'data.bin'), payload)
  const lt = runLibtorrent(['seed', join(dir, 'data.bin'), join(dir, 'data.torrent'), '--transport', 'utp', '--piece-kib', '64'])
  t.after(() => lt.stop())
  const ready = JSON.parse(await lt.line(/^\{/, 60_000)) as { port: number }
  const meta = parseTorrent(await readFile(join(dir, 'data.torrent')))
  assert.equal(await servesOverTcp(ready.port, meta.infoHash), false, 'the seeder serves no one over TCP: only uTP reaches it')
  const client = await openTransport({ accept: false })
  t.after(() => client.close())
  const { bytes } = await within(60_000, 'download from libtorrent over uTP', swarmDownload(meta, [{ host: '127.0.0.1', port: ready.port }], utpDialer(client, meta)))
  assert.equal(bytes.length, SIZE)
  assert.ok(bytes.equals(payload), 'byte-identical')
})

test('interop BEP 29: our Seeder over uTP serves a libtorrent 2.0 leecher with TCP off', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-stream-utp-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const payload = randomBytes(SIZE)
  await writeFile(join(dir, 'data.bin'), payload)
  // libtorrent makes the torrent (and is stopped): then the data is ours alone to serve.
  const maker = runLibtorrent(['seed', join(dir, 'data.bin'), join(dir, 'data.torrent'), '--transport', 'utp', '--piece-kib', '64'])
  await maker.line(/^\{/, 60_000)
  await maker.stop()
  const meta = parseTorrent(await readFile(join(dir, 'data.torrent')))
  const listener = new PeerListener({ host: '127.0.0.1' })
  await listener.listen()
  const seeder = new Seeder({ meta, reader: new MemoryReader(payload, meta.pieceLength), have: BitField.full(meta.pieceCount), listener })
  seeder.start()
  const server = await openTransport()
  t.after(async () => { await server.close(); await seeder.close(); await listener.close() })
  serveOverUtp(server, meta, seeder)
  const save = join(dir, 'leech')
  const lt = runLibtorrent(['leech', join(dir, 'data.torrent'), save, `127.0.0.1:${server.port}`, '--transport', 'utp'])
  t.after(() => lt.stop())
  await within(60_000, 'libtorrent done', lt.line(/^done$/, 60_000))
  const got = await readFile(join(save, 'data.bin'))
  assert.ok(got.equals(payload), 'libtorrent has the file, byte-identical')
  assert.ok(seeder.uploaded >= SIZE, 'we sent it all, over uTP')
})

test('interop BEP 29, dial policy prefer: libtorrent with TCP off accepts TCP and closes; the dial falls back to uTP and completes the handshake', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-stream-utp-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  await writeFile(join(dir, 'data.bin'), randomBytes(256 * 1024))
  const lt = runLibtorrent(['seed', join(dir, 'data.bin'), join(dir, 'data.torrent'), '--transport', 'utp', '--piece-kib', '64'])
  t.after(() => lt.stop())
  const ready = JSON.parse(await lt.line(/^\{/, 60_000)) as { port: number }
  const meta = parseTorrent(await readFile(join(dir, 'data.torrent')))
  const client = await openTransport({ accept: false })
  t.after(() => client.close())
  const { stream: conn, transport } = await within(30_000, 'dial', dialEither<PeerConnection>({
    mode: 'prefer',
    headStartMs: 10_000,
    tcp: (signal) => connect({ host: '127.0.0.1', port: ready.port, infoHash: meta.infoHash, pieceCount: meta.pieceCount, signal }),
    utp: async (signal) => {
      const c = new PeerConnection(await client.dial('127.0.0.1', ready.port, { signal }), { infoHash: meta.infoHash, pieceCount: meta.pieceCount })
      await waitForHandshake(c).catch((err: Error) => { c.destroy(); throw err })
      return c
    }
  }))
  t.after(() => { conn.destroy() })
  assert.equal(transport, 'utp')
  assert.ok(conn.peerHandshake !== undefined)
})
