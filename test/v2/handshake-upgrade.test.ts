/**
 * BEP 52 in the handshake, on our own wire stack: the "supports v2" bit (reserved byte 7, 0x10)
 * goes out when asked for, and a hybrid's dial accepts the reply of a peer that upgrades the
 * connection to the truncated v2 hash (what libtorrent 2.0 does; its own test is in
 * libtorrent-hashes.test.ts), never any other hash.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import { v2Handshake } from '../../lib/swarm/wire-peer.js'
import { connect } from '../../lib/wire/connect.js'
import { decodeHandshake, decodeReserved, encodeHandshake, encodeReserved, HANDSHAKE_LENGTH } from '../../lib/wire/handshake.js'

/** A peer that reads our handshake and answers with `answerHash`; resolves our reserved bytes. */
async function upgrader (t: { after: (fn: () => void) => void }, answerHash: Uint8Array): Promise<{ port: number, seen: Promise<Uint8Array> }> {
  const sockets = new Set<Socket>()
  let seen!: (r: Uint8Array) => void
  const seenP = new Promise<Uint8Array>(resolve => { seen = resolve })
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      if (buf.length >= HANDSHAKE_LENGTH) return
      buf = Buffer.concat([buf, d])
      if (buf.length < HANDSHAKE_LENGTH) return
      const h = decodeHandshake(buf.subarray(0, HANDSHAKE_LENGTH))
      seen(h.reserved)
      socket.write(encodeHandshake({ reserved: encodeReserved({ extended: false, fast: false, dht: false, v2: true }), infoHash: answerHash, peerId: Buffer.alloc(20, 9) }))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  return { port: (server.address() as { port: number }).port, seen: seenP }
}

const v1 = Buffer.alloc(20, 1)
const v2 = Buffer.alloc(32, 2)
const hybrid = { version: 'hybrid' as const, infoHashV2: v2 }

test('BEP 52 handshake: a hybrid\'s dial sets reserved byte 7 bit 0x10 and accepts the upgraded reply (the truncated v2 hash); the connection is then that hash\'s', async t => {
  const peer = await upgrader(t, v2.subarray(0, 20))
  const conn = await connect({ host: '127.0.0.1', port: peer.port, infoHash: v1, pieceCount: 4, encryption: 'off', utpMode: 'off', ...v2Handshake(hybrid) })
  t.after(() => conn.destroy())
  conn.on('error', () => {})
  assert.equal(decodeReserved(await peer.seen).v2, true)
  assert.equal(conn.upgradedToV2, true)
  assert.ok(Buffer.from(conn.infoHash as Uint8Array).equals(v2.subarray(0, 20)))
})

test('BEP 52 handshake: any other hash in the reply is still refused; a v1 torrent\'s dial sets no v2 bit', async t => {
  const peer = await upgrader(t, Buffer.alloc(20, 7))
  await assert.rejects(connect({ host: '127.0.0.1', port: peer.port, infoHash: v1, pieceCount: 4, encryption: 'off', utpMode: 'off', ...v2Handshake(hybrid) }), /answered for info hash/)
  const plain = await upgrader(t, v1)
  const conn = await connect({ host: '127.0.0.1', port: plain.port, infoHash: v1, pieceCount: 4, encryption: 'off', utpMode: 'off', ...v2Handshake({ version: 'v1' }) })
  t.after(() => conn.destroy())
  conn.on('error', () => {})
  assert.equal(decodeReserved(await plain.seen).v2, undefined)
  assert.equal(conn.upgradedToV2, false)
  assert.deepEqual(v2Handshake({ version: 'v2', infoHashV2: v2 }), { v2: true })
})
