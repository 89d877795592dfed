import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect as netConnect } from 'node:net'
import { test, type TestContext } from 'node:test'
import { EncryptedStream, encryptionOf } from '../../lib/crypto/encrypted-stream.js'
import { CRYPTO_PLAINTEXT, CRYPTO_RC4 } from '../../lib/crypto/mse-handshake.js'
import { PeerListener } from '../../lib/seed/listener.js'
import type { EncryptionPolicy } from '../../lib/wire/connect.js'
import { PeerConnection } from '../../lib/wire/peer-connection.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { next, within } from '../wire/helpers.js'

const PIECES = 4
const INFO_HASH = randomBytes(20)

/**
 * An MSE initiator as libtorrent 2.0 dials by default: crypto_provide = plaintext | RC4. Returns
 * the method our listener (the responder) selected, once the connection carries our first message.
 */
async function acceptedMethod (t: TestContext, policy: EncryptionPolicy, provide: number): Promise<string> {
  const listener = new PeerListener({ host: '127.0.0.1', encryption: policy, handshakeTimeout: 5000 })
  const port = await listener.listen()
  listener.serve(INFO_HASH.toString('hex'), { pieceCount: PIECES, have: BitField.full(PIECES) })
  const accepted: PeerConnection[] = []
  listener.on('peer', (c) => { accepted.push(c) })
  t.after(async () => { for (const c of accepted) c.destroy(); await listener.close() })
  const socket = netConnect({ host: '127.0.0.1', port })
  const enc = new EncryptedStream(socket, { role: 'initiator', infoHash: INFO_HASH, provide })
  const conn = new PeerConnection(enc, { infoHash: INFO_HASH, pieceCount: PIECES })
  conn.on('error', () => {})
  t.after(() => { conn.destroy() })
  assert.equal((await within(5000, 'first message', next(conn))).type, 'haveAll')
  return encryptionOf(conn.socket)
}

test('MSE responder under encryption "prefer": an initiator offering plaintext and RC4 (libtorrent\'s default) gets plaintext after the obfuscated handshake, as libtorrent answers', async (t) => {
  assert.equal(await acceptedMethod(t, 'prefer', CRYPTO_PLAINTEXT | CRYPTO_RC4), 'mse-plaintext')
})

test('MSE responder under "prefer": an initiator offering RC4 only gets RC4', async (t) => {
  assert.equal(await acceptedMethod(t, 'prefer', CRYPTO_RC4), 'rc4')
})

test('MSE responder under "require": RC4 even when the initiator offers plaintext too', async (t) => {
  assert.equal(await acceptedMethod(t, 'require', CRYPTO_PLAINTEXT | CRYPTO_RC4), 'rc4')
})
