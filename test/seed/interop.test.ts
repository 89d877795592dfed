import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import Wire from 'bittorrent-protocol'
import WebTorrent, { type Torrent } from 'webtorrent'
import { pieceHash, pieceLengthAt } from '../../lib/metainfo/geometry.js'
import { within } from '../wire/helpers.js'
import { seedFixture } from './fixture-seed.js'

// The leechers are clients no one here wrote: webtorrent@3 (the whole client) and
// bittorrent-protocol@5 (its wire), over loopback TCP to our Seeder serving from memory.

// secure: 0 keeps these plaintext; webtorrent's default (1), which opens every outgoing
// connection with MSE/PE, is served in test/crypto/interop.test.ts.
const WEBTORRENT_OPTS = { dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, tracker: false, secure: 0 } as const

for (const name of ['single', 'multi']) {
  test(`interop BEP 3: a webtorrent leecher downloads ${name}.torrent from our Seeder, byte-identical`, async () => {
    const seed = await seedFixture(name)
    const dir = await mkdtemp(join(tmpdir(), 'bt-stream-seed-'))
    const client = new WebTorrent(WEBTORRENT_OPTS)
    client.on('error', () => {})
    try {
      const torrent = await within(10_000, 'webtorrent ready', new Promise<Torrent>((resolve, reject) => {
        const t = client.add(seed.torrent, { path: dir }, resolve)
        t.on('error', reject)
      }))
      torrent.addPeer(`127.0.0.1:${seed.port}`)
      if (!torrent.done) await within(20_000, 'webtorrent done', new Promise<void>(resolve => torrent.once('done', () => resolve())))
      for (const f of seed.meta.files) {
        if (f.length === 0) continue
        const got = await readFile(join(dir, f.path))
        const want = seed.payload.subarray(f.offset, f.offset + f.length)
        assert.ok(got.equals(want), `${f.path}: ${got.length} bytes identical to the fixture`)
      }
      assert.ok(seed.seeder.uploaded >= seed.meta.length, 'every byte was sent by us')
    } finally {
      await new Promise<void>(resolve => client.destroy(() => resolve()))
      await seed.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
}

test('interop BEP 3/6: a bittorrent-protocol leecher gets have all, is unchoked when interested, and every block matches the piece hashes', async () => {
  const seed = await seedFixture('single')
  const { meta } = seed
  const socket = netConnect({ host: '127.0.0.1', port: seed.port })
  const wire = new Wire()
  wire.on('error', () => {})
  socket.on('error', () => {})
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  ;(wire as unknown as NodeJS.ReadableStream).pipe(socket)
  try {
    const haveAll = within(5000, 'have all', new Promise<void>(resolve => wire.once('have-all', () => resolve())))
    const unchoked = within(5000, 'unchoke', new Promise<void>(resolve => wire.once('unchoke', () => resolve())))
    wire.handshake(meta.infoHash, Buffer.from('-WW0300-seedinterop1'), { fast: true })
    await haveAll
    wire.interested()
    await unchoked
    for (let i = 0; i < meta.pieceCount; i++) {
      const len = pieceLengthAt(meta, i)
      const blocks: Promise<Uint8Array>[] = []
      for (let b = 0; b < len; b += 16384) {
        const l = Math.min(16384, len - b)
        blocks.push(within(5000, `piece ${i} block ${b}`, new Promise((resolve, reject) => {
          wire.request(i, b, l, (err, block) => { if (err !== null) reject(err); else resolve(block) })
        })))
      }
      const piece = Buffer.concat(await Promise.all(blocks))
      assert.equal(piece.length, len)
      assert.deepEqual(createHash('sha1').update(piece).digest(), Buffer.from(pieceHash(meta, i)), `piece ${i} SHA-1`)
    }
    // BEP 6: a request past the piece end is answered with a reject, and bittorrent-protocol
    // reports it as an error on that request.
    await assert.rejects(within(5000, 'rejected request', new Promise((resolve, reject) => {
      wire.request(meta.pieceCount - 1, meta.lastPieceLength - 10, 100, (err, block) => { if (err !== null) reject(err); else resolve(block) })
    })))
  } finally {
    wire.destroy()
    socket.destroy()
    await seed.close()
  }
})
