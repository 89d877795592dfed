import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test, type TestContext } from 'node:test'
import { EncryptedStream, encryptionOf } from '../../lib/crypto/encrypted-stream.js'
import { MseError } from '../../lib/crypto/errors.js'
import { CRYPTO_PLAINTEXT } from '../../lib/crypto/mse-handshake.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { connect, type EncryptionPolicy } from '../../lib/wire/connect.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import { next, within } from '../wire/helpers.js'

const PIECES = 4
const INFO_HASH = randomBytes(20)

/** A PeerListener serving INFO_HASH (we have every piece) with the given inbound policy. */
async function listen (t: TestContext, encryption: EncryptionPolicy) {
  const listener = new PeerListener({ host: '127.0.0.1', encryption, handshakeTimeout: 5000 })
  const port = await listener.listen()
  listener.serve(Buffer.from(INFO_HASH).toString('hex'), { pieceCount: PIECES, have: BitField.full(PIECES) })
  const peers: PeerConnection[] = []
  const refused: Error[] = []
  listener.on('peer', (conn) => { peers.push(conn) })
  listener.on('refused', (err) => { refused.push(err) })
  t.after(async () => { for (const p of peers) p.destroy(); await listener.close() })
  return { listener, port, peers, refused }
}

function dial (t: TestContext, port: number, encryption: EncryptionPolicy): Promise<PeerConnection> {
  return connect({ host: '127.0.0.1', port, infoHash: INFO_HASH, pieceCount: PIECES, encryption, handshakeTimeout: 5000 }).then((conn) => {
    t.after(() => { conn.destroy() })
    return conn
  })
}

const methodOf = (conn: PeerConnection): string => { const e = encryptionOf(conn.socket); return e === 'none' ? 'plaintext' : e }

test('dial and accept: encryption require <-> prefer: MSE with RC4, the bitfield arrives through it', async (t) => {
  const l = await listen(t, 'prefer')
  const conn = await within(5000, 'dial', dial(t, l.port, 'require'))
  assert.equal(methodOf(conn), 'rc4')
  const m = await next(conn)
  assert.ok(m.type === 'haveAll' || m.type === 'bitfield')
  assert.equal(l.peers.length, 1)
  assert.equal(methodOf(l.peers[0] as PeerConnection), 'rc4')
  assert.equal(l.refused.length, 0)
})

test('dial under prefer: a plaintext-only peer (its listener has encryption off) is reached on the first connection, in plaintext', async (t) => {
  const l = await listen(t, 'off')
  const conn = await within(5000, 'dial', dial(t, l.port, 'prefer'))
  assert.equal(methodOf(conn), 'plaintext')
  assert.equal(l.refused.length, 0, 'no failed connection first')
})

test('dial under prefer: a peer that requires encryption closes our plaintext handshake; the second connection is MSE and works', async (t) => {
  const l = await listen(t, 'require')
  const conn = await within(10_000, 'dial', dial(t, l.port, 'prefer'))
  assert.equal(methodOf(conn), 'rc4', 'prefer offers both; our responder picks RC4')
  assert.equal(l.refused.length, 1, 'exactly one failed connection')
  assert.match(String(l.refused[0]?.message), /encryption is required/)
  assert.equal((await next(conn)).type, 'haveAll')
})

test('dial under prefer: the peer that needed MSE is dialed with MSE first next time (one failed connection per peer, not per dial)', async (t) => {
  const l = await listen(t, 'require')
  const first = await within(10_000, 'first dial', dial(t, l.port, 'prefer'))
  first.destroy()
  assert.equal(l.refused.length, 1)
  const second = await within(10_000, 'second dial', dial(t, l.port, 'prefer'))
  assert.equal(methodOf(second), 'rc4')
  assert.equal(l.refused.length, 1, 'no second failed connection')
})

test('dial under require: a plaintext-only peer fails clearly (MseError), with no plaintext attempt', async (t) => {
  const l = await listen(t, 'off')
  await assert.rejects(within(10_000, 'dial', dial(t, l.port, 'require')), (err: Error) => {
    assert.ok(err instanceof MseError, `an MseError, got ${String(err)}`)
    assert.match(err.message, /MSE: .*(closed|handshake)/)
    return true
  })
  assert.equal(l.peers.length, 0)
})

test('dial under off: a peer that requires encryption is not reached, in one connection', async (t) => {
  const l = await listen(t, 'require')
  await assert.rejects(within(10_000, 'dial', dial(t, l.port, 'off')), /during the handshake|ECONNRESET/)
  await within(5000, 'the refusal', (async () => { while (l.refused.length === 0) await new Promise(resolve => setTimeout(resolve, 20)) })())
  assert.equal(l.refused.length, 1)
})

test('accept: one port serves a plaintext peer, an MSE/RC4 peer and an MSE/plaintext peer; hostile MSE peers cost only their connection', async (t) => {
  const l = await listen(t, 'prefer')
  const plain = await dial(t, l.port, 'off')
  const rc4 = await dial(t, l.port, 'require')
  assert.equal(methodOf(plain), 'plaintext')
  assert.equal(methodOf(rc4), 'rc4')
  // A client offering plaintext only inside MSE (header obfuscation).
  const { connect: netConnect } = await import('node:net')
  const socket = netConnect({ host: '127.0.0.1', port: l.port })
  const enc = new EncryptedStream(socket, { role: 'initiator', infoHash: INFO_HASH, provide: CRYPTO_PLAINTEXT })
  const { PeerConnection } = await import('../../lib/wire/peer-connection.js')
  const conn = new PeerConnection(enc, { infoHash: INFO_HASH, pieceCount: PIECES })
  conn.on('error', () => {})
  t.after(() => { conn.destroy() })
  assert.equal((await next(conn)).type, 'haveAll')
  assert.equal(methodOf(conn), 'mse-plaintext')
  // Hostile: garbage, an unknown torrent.
  const garbage = netConnect({ host: '127.0.0.1', port: l.port })
  garbage.on('error', () => {})
  garbage.write(randomBytes(2000))
  t.after(() => { garbage.destroy() })
  const other = connect({ host: '127.0.0.1', port: l.port, infoHash: randomBytes(20), encryption: 'require', handshakeTimeout: 5000 })
  await assert.rejects(within(10_000, 'unknown torrent', other), MseError)
  await within(5000, 'both refused', (async () => { while (l.refused.length < 2) await new Promise(resolve => setTimeout(resolve, 20)) })())
  assert.ok(l.refused.some(e => /not serve/.test(e.message)), 'unknown SKEY refused')
  assert.equal(l.peers.length, 3)
  // The three good connections still work.
  for (const c of [plain, rc4]) assert.equal((await next(c)).type, 'haveAll')
  assert.equal(l.listener.handshaking, 0)
})
