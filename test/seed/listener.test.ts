import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import { test } from 'node:test'
import { PeerListener } from '../../lib/seed/listener.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { connect } from '../../lib/wire/connect.js'
import { toHex } from '../../lib/wire/handshake.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import { nextOf, within } from '../wire/helpers.js'

const HASH_A = new Uint8Array(20).fill(0xa1)
const HASH_B = new Uint8Array(20).fill(0xb2)

function rawSocket (port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port })
    s.once('connect', () => { resolve(s) })
    s.once('error', reject)
  })
}

test('PeerListener: a peer asking for a torrent we serve gets that torrent\'s bitfield (or BEP 6 have all) and is handed out with its info hash', async () => {
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  assert.ok(port > 0)
  assert.equal(listener.port, port)
  const partial = new BitField(10)
  partial.set(3)
  listener.serve(toHex(HASH_A), { pieceCount: 10, have: partial, extensions: { reqq: 77, port } })
  listener.serve(toHex(HASH_B), { pieceCount: 33, have: BitField.full(33) })
  const handed: Array<[PeerConnection, string]> = []
  listener.on('peer', (conn, hex) => { handed.push([conn, hex]) })
  const a = await within(5000, 'connect A', connect({ host: '127.0.0.1', port, infoHash: HASH_A, pieceCount: 10 }))
  const b = await within(5000, 'connect B', connect({ host: '127.0.0.1', port, infoHash: HASH_B, pieceCount: 33 }))
  try {
    const bf = await nextOf(a, 'bitfield')
    assert.deepEqual(Array.from(bf.bitfield), Array.from(partial.bytes))
    const ext = a.peerExtendedHandshake ?? (await within(5000, 'extended handshake', once(a, 'extended-handshake')))[0]
    assert.equal(ext.reqq, 77)
    assert.equal(ext.p, port)
    await nextOf(b, 'haveAll')
    assert.equal(b.peerPieces?.hasAll(), true)
    while (handed.length < 2) await within(5000, 'peer events', once(listener, 'peer'))
    assert.deepEqual(handed.map(h => h[1]).sort(), [toHex(HASH_A), toHex(HASH_B)].sort())
    const ourB = handed.find(h => h[1] === toHex(HASH_B))?.[0]
    assert.equal(ourB?.peerPieces?.length, 33, 'our side of B knows B\'s piece count')
    assert.equal(listener.handshaking, 0)
  } finally {
    a.destroy(); b.destroy()
    for (const [c] of handed) c.destroy()
    await listener.close()
  }
})

test('PeerListener: an info hash we do not serve (or no longer serve) is refused: the dialer cannot connect', async () => {
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  listener.serve(toHex(HASH_A), { pieceCount: 1, have: BitField.full(1) })
  const refused = once(listener, 'refused')
  try {
    await assert.rejects(within(5000, 'connect', connect({ host: '127.0.0.1', port, infoHash: HASH_B })))
    const [err] = await within(5000, 'refused event', refused)
    assert.match((err as Error).message, new RegExp(`not serving info hash ${toHex(HASH_B)}`))
    listener.unserve(toHex(HASH_A))
    await assert.rejects(within(5000, 'connect after unserve', connect({ host: '127.0.0.1', port, infoHash: HASH_A })))
  } finally { await listener.close() }
})

test('PeerListener: a socket that never sends its handshake is closed after the handshake timeout', async () => {
  const listener = new PeerListener({ host: '127.0.0.1', handshakeTimeout: 100 })
  const port = await listener.listen()
  const s = await rawSocket(port)
  try {
    const [err] = await within(5000, 'refused event', once(listener, 'refused'))
    assert.match((err as Error).message, /no handshake within 100 ms/)
    if (!s.destroyed) await within(5000, 'socket closed', once(s, 'close'))
    assert.equal(listener.handshaking, 0)
  } finally { s.destroy(); await listener.close() }
})

test('PeerListener: at most maxHandshaking sockets wait for a handshake; close() ends them and the server', async () => {
  const listener = new PeerListener({ host: '127.0.0.1', maxHandshaking: 2 })
  const port = await listener.listen()
  const sockets: Socket[] = []
  try {
    let handshaking = 0
    listener.on('refused', () => {})
    for (let i = 0; i < 2; i++) sockets.push(await rawSocket(port))
    const third = await rawSocket(port)
    sockets.push(third)
    await within(5000, 'the third socket is closed on arrival', once(third, 'close'))
    handshaking = listener.handshaking
    assert.equal(handshaking, 2)
    const closes = sockets.slice(0, 2).map(s => s.destroyed ? Promise.resolve() : once(s, 'close'))
    await within(5000, 'listener closed', listener.close())
    await within(5000, 'pending sockets closed', Promise.all(closes))
    await assert.rejects(rawSocket(port), /ECONNREFUSED/)
  } finally {
    for (const s of sockets) s.destroy()
    await listener.close()
  }
})

test('PeerListener: listens on ::1 too (IPv6 loopback)', async (t) => {
  const listener = new PeerListener({ host: '::1' })
  try {
    await listener.listen()
  } catch (err) {
    t.skip(`no IPv6 loopback here: ${(err as Error).message}`)
    await listener.close()
    return
  }
  listener.serve(toHex(HASH_A), { pieceCount: 4, have: BitField.full(4) })
  const peer = once(listener, 'peer')
  const conn = await within(5000, 'connect over ::1', connect({ host: '::1', port: listener.port, infoHash: HASH_A, pieceCount: 4 }))
  try {
    const [ours] = await within(5000, 'peer event', peer)
    assert.equal((ours as PeerConnection).infoHash !== undefined, true)
    ;(ours as PeerConnection).destroy()
  } finally { conn.destroy(); await listener.close() }
})
