import { createServer } from 'node:net'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ourExtensions } from '../../lib/extensions/extension-ids.js'
import { PexTracker } from '../../lib/extensions/pex-tracker.js'
import { acceptPeer, connect, type PeerConnection } from '../../lib/wire/index.js'
import { within } from '../wire/helpers.js'
import { webtorrentSeeder } from './webtorrent-helpers.js'

test('BEP 11 interop: webtorrent dials a peer our PEX message added', async () => {
  const { client, torrent, port } = await webtorrentSeeder(new Uint8Array(64 * 1024).fill(3), 16384, { utPex: true })
  const infoHash = Buffer.from(torrent.infoHash, 'hex')
  // The peer we advertise: a listener that records the info hash of whoever dials it.
  const server = createServer()
  const dialedFor = new Promise<string>((resolve) => {
    server.on('connection', (socket) => {
      socket.on('error', () => {})
      acceptPeer(socket, { accept: (ih) => { resolve(Buffer.from(ih).toString('hex')); return false }, handshakeTimeout: 5000 }).catch(() => {})
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  let conn: PeerConnection | undefined
  try {
    conn = await connect({ host: '127.0.0.1', port, infoHash, extensions: ourExtensions(), connectTimeout: 5000, handshakeTimeout: 5000 })
    conn.on('error', () => {})
    conn.resume()
    const c = conn
    if (c.peerExtendedHandshake === undefined) await within(5000, 'extended handshake', new Promise((resolve) => c.once('extended-handshake', resolve)))
    assert.ok((c.peerExtendedHandshake?.m.ut_pex ?? 0) > 0, 'webtorrent offers ut_pex')
    const pex = new PexTracker<PeerConnection>({ onPeers: () => {} })
    pex.connected(c, { host: '127.0.0.1', port, outgoing: true })
    // Another connection of ours (only its address matters to PEX).
    pex.connected({ peerExtendedHandshake: undefined, extended: () => true } as unknown as PeerConnection, { host: '127.0.0.1', port: addr.port, outgoing: true })
    assert.equal(pex.sendDue(), 1)
    assert.equal(await within(10_000, 'webtorrent dials the PEX peer', dialedFor), torrent.infoHash)
  } finally {
    conn?.destroy()
    await new Promise<void>((resolve) => { client.destroy(() => resolve()) })
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})
