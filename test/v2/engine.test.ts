/**
 * The download engine on v2-only torrents without libtorrent (our own wire stack over loopback
 * TCP): SHA-256 merkle checks name a corrupt peer, and hash requests (BEP 52, id 21) from a
 * connected peer are answered from the piece layers.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTorrent } from '../../lib/metainfo/create.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { download } from '../../lib/session/download.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { resolveHashes } from '../../lib/v2/hash-requester.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { acceptPeer } from '../../lib/wire/connect.js'
import { decodeHashes, encodeHashRequest, HashMessageId } from '../../lib/wire/hash-messages.js'
import type { Message } from '../../lib/wire/messages.js'
import { collect } from '../helpers.js'
import { get, serveFrom } from '../serve/helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { seededBytes } from '../swarm/fixture-torrent.js'

async function v2Torrent (t: { after: (fn: () => void) => void }, length: number, pieceLength: number): Promise<{ meta: Metainfo, data: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-engine-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const data = seededBytes(length, 52)
  writeFileSync(join(dir, 'file.bin'), data)
  const { meta } = await createTorrent(join(dir, 'file.bin'), { pieceLength, version: 'v2', creationDate: null })
  return { meta, data }
}

test('BEP 52 piece verification: a peer sending corrupt blocks of a v2-only torrent fails the SHA-256 merkle check and is banned; the output is exact', async t => {
  const { meta, data } = await v2Torrent(t, 3 * 1024 * 1024 + 777, 64 * 1024)
  assert.equal(meta.version, 'v2')
  const honest = await startFakeSeeder(meta, data, { kind: 'slow', delayMs: 5 })
  const corrupt = await startFakeSeeder(meta, data, { kind: 'corrupt' })
  t.after(async () => { await honest.close(); await corrupt.close() })
  const stream = download(meta, { peers: [honest, corrupt].map(s => ({ host: '127.0.0.1', port: s.port })), trackers: false, webSeeds: false, utp: 'off' })
  const banned: string[] = []
  stream.on('peer-banned', (addr, reason) => banned.push(`${addr.port} ${reason}`))
  const out = await collect(stream)
  assert.ok(out.equals(data), 'byte-identical')
  assert.ok(stream.progress.hashFailures > 0)
  assert.ok(banned.some(b => b.startsWith(`${corrupt.port} `) && b.includes('SHA-256 (BEP 52)')), `corrupt peer banned: ${banned.join('; ')}`)
  assert.ok(!banned.some(b => b.startsWith(`${honest.port} `)), 'the honest peer is never banned')
})

test('BEP 52 hash request (id 21) from a connected peer is answered with hashes (id 22) that prove to the pieces root', async t => {
  const { meta } = await v2Torrent(t, 40 * 16384 + 5, 16384)
  const file = meta.v2Files?.[0]
  assert.ok(file?.piecesRoot !== undefined)
  const sockets = new Set<Socket>()
  let answer: ((m: Message) => void) | undefined
  const answered = new Promise<Message>(resolve => { answer = resolve })
  // A peer that has nothing asks for the first 32 block hashes (16 KiB pieces) with the proof to the root.
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('error', () => {})
    acceptPeer(socket, { accept: h => Buffer.from(h).equals(meta.infoHash), have: new BitField(meta.pieceCount), pieceCount: meta.pieceCount, handshakeTimeout: 5000 }).then(conn => {
      conn.on('error', () => {})
      conn.on('data', (m: unknown) => { if ((m as Message).type === 'unknown') answer?.(m as Message) })
      conn.write({ type: 'unknown', id: HashMessageId.hashRequest, payload: encodeHashRequest({ piecesRoot: file.piecesRoot as Uint8Array, baseLayer: 0, index: 0, length: 32, proofLayers: 5 }) })
    }, () => socket.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  const stream = download(meta, { peers: [{ host: '127.0.0.1', port: (server.address() as { port: number }).port }], trackers: false, webSeeds: false, utp: 'off' })
  stream.on('error', () => {})
  t.after(() => stream.destroy())
  const m = await answered
  assert.equal(m.type === 'unknown' && m.id, HashMessageId.hashes)
  const hashes = decodeHashes((m as { payload: Uint8Array }).payload)
  const top = resolveHashes(hashes)
  assert.deepEqual([top.height, Buffer.from(top.hash).toString('hex')], [6, Buffer.from(file.piecesRoot).toString('hex')])
})

test('BEP 52 both ends ours: `seed` of a v2-only multi-file torrent (pieces checked by merkle on disk) to a v2 download to a directory, byte-identical', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-both-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const files: Record<string, number> = { 'a.bin': 3 * 65536 + 100, 'b/c.bin': 5, 'b/d.bin': 65536, 'e.bin': 70_000 }
  for (const [path, n] of Object.entries(files)) {
    mkdirSync(join(dir, 'src', 'tree', path, '..'), { recursive: true })
    writeFileSync(join(dir, 'src', 'tree', path), seededBytes(n, n))
  }
  const { meta } = await createTorrent(join(dir, 'src', 'tree'), { pieceLength: 65536, version: 'v2', creationDate: null })
  assert.ok(meta.files.some(f => f.padding))
  const session = await seedFromDisk(meta, join(dir, 'src'), { trackers: false, utp: 'off', host: '127.0.0.1' })
  t.after(() => session.close())
  assert.equal(session.have.count(), meta.pieceCount)
  mkdirSync(join(dir, 'out'))
  const dl = await downloadToDisk(meta, join(dir, 'out'), { peers: [{ host: '127.0.0.1', port: session.port }], trackers: false, webSeeds: false, utp: 'off', listen: false })
  try { await dl.done } finally { await dl.stop() }
  for (const [path, n] of Object.entries(files)) assert.ok(readFileSync(join(dir, 'out', 'tree', path)).equals(seededBytes(n, n)), path)
})

test('BEP 52: `serve` of a v2-only multi-file torrent: each file over HTTP is byte-identical (short pieces at file ends, padding never fetched)', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-serve-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const files: Record<string, number> = { 'a.bin': 3 * 65536 + 100, 'b/c.bin': 5, 'e.bin': 70_000 }
  for (const [path, n] of Object.entries(files)) {
    mkdirSync(join(dir, 'src', 'tree', path, '..'), { recursive: true })
    writeFileSync(join(dir, 'src', 'tree', path), seededBytes(n, n))
  }
  const { meta } = await createTorrent(join(dir, 'src', 'tree'), { pieceLength: 65536, version: 'v2', creationDate: null })
  const session = await seedFromDisk(meta, join(dir, 'src'), { trackers: false, utp: 'off', host: '127.0.0.1' })
  t.after(() => session.close())
  const served = await serveFrom(t, meta, [{ host: '127.0.0.1', port: session.port }])
  for (const [i, f] of meta.files.entries()) {
    if (f.padding) continue
    const r = await get(`${served.url}/${i}`)
    assert.equal(r.status, 200, f.path)
    assert.ok(Buffer.from(r.body).equals(seededBytes(f.length, f.length)), f.path)
  }
})
