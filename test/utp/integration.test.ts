import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { encryptionOf } from '../../lib/crypto/encrypted-stream.js'
import { wirePeer } from '../../lib/swarm/wire-peer.js'
import { connect } from '../../lib/wire/connect.js'
import { seedFixture } from '../seed/fixture-seed.js'
import { within } from '../wire/helpers.js'
import { openTransport, swarmDownload, utpSkip } from './helpers.js'

const skip = utpSkip()

test('PeerListener.attachUtp + connect({ utp, utpMode: only }): our Seeder serves a Swarm over uTP through the real listener, byte-identical', { skip }, async (t) => {
  const seed = await seedFixture('multi')
  // Same port number, UDP: what we announce reaches both kinds of peer.
  const server = await openTransport({ port: seed.port })
  assert.equal(server.port, seed.port)
  seed.listener.attachUtp(server)
  const client = await openTransport({ accept: false })
  t.after(async () => { await client.close(); await seed.close(); await server.close() })
  const { bytes } = await swarmDownload(seed.meta, [{ host: '127.0.0.1', port: seed.port }], async (addr, signal) => wirePeer(await connect({
    host: addr.host, port: addr.port, infoHash: seed.meta.infoHash, pieceCount: seed.meta.pieceCount, signal, utp: client, utpMode: 'only'
  })))
  assert.equal(createHash('sha1').update(bytes).digest('hex'), createHash('sha1').update(seed.payload).digest('hex'))
  assert.ok(seed.seeder.uploaded >= seed.meta.length)
})

test('connect() prefer: a peer whose TCP port refuses is reached over uTP at once; without a transport it is refused', { skip }, async (t) => {
  const seed = await seedFixture('single')
  // uTP on a port number where nothing listens for TCP.
  const server = await openTransport()
  seed.listener.attachUtp(server)
  const client = await openTransport({ accept: false })
  t.after(async () => { await client.close(); await seed.close(); await server.close() })
  const started = Date.now()
  const conn = await within(5000, 'connect', connect({ host: '127.0.0.1', port: server.port, infoHash: seed.meta.infoHash, utp: client }))
  t.after(() => { conn.destroy() })
  assert.ok(conn.peerHandshake !== undefined)
  assert.equal(client.outbound, 1, 'the connection is the uTP one')
  assert.ok(Date.now() - started < 2000, 'no head start waited: TCP was refused')
  await assert.rejects(connect({ host: '127.0.0.1', port: server.port, infoHash: seed.meta.infoHash }), /ECONNREFUSED/)
  await assert.rejects(connect({ host: '127.0.0.1', port: server.port, infoHash: seed.meta.infoHash, utp: client, utpMode: 'off' }), /ECONNREFUSED/)
})

test('connect() prefer: a peer on both takes TCP; --utp-only takes uTP; MSE (encryption require) runs over uTP too', { skip }, async (t) => {
  const seed = await seedFixture('single')
  const server = await openTransport({ port: seed.port })
  seed.listener.attachUtp(server)
  const client = await openTransport({ accept: false })
  t.after(async () => { await client.close(); await seed.close(); await server.close() })
  const both = await connect({ host: '127.0.0.1', port: seed.port, infoHash: seed.meta.infoHash, utp: client })
  t.after(() => { both.destroy() })
  assert.equal(client.outbound, 0, 'TCP answered first: no uTP dial')
  const enc = await connect({ host: '127.0.0.1', port: seed.port, infoHash: seed.meta.infoHash, utp: client, utpMode: 'only', encryption: 'require' })
  t.after(() => { enc.destroy() })
  assert.equal(client.outbound, 1)
  assert.equal(encryptionOf(enc.socket), 'rc4')
})

test('--utp-only without a transport: connect() fails with the reason', async () => {
  await assert.rejects(connect({ host: '127.0.0.1', port: 9, infoHash: new Uint8Array(20), utpMode: 'only' }), /uTP only, and uTP is unavailable/)
})
