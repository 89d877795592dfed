import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, selectMethod } from '../../lib/crypto/mse-handshake.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { waitForHandshake } from '../../lib/wire/connect.js'
import { PeerConnection } from '../../lib/wire/peer-connection.js'
import { next, plain, socketPair, within } from '../wire/helpers.js'
import { BOTH, INFO_HASH, initiator, mseDone, readBytes, responder } from './helpers.js'

const IA = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(48, 7)])

/** Copies of what arrives on a raw socket, before any stream decrypts it in place. */
function tap (socket: NodeJS.EventEmitter): () => Buffer {
  const seen: Buffer[] = []
  socket.on('data', (c: Buffer) => { seen.push(Buffer.from(c)) })
  return () => Buffer.concat(seen)
}

for (const [name, provide, method] of [
  ['RC4 (both offered, the responder picks RC4)', BOTH, CRYPTO_RC4],
  ['plaintext (the only one offered)', CRYPTO_PLAINTEXT, CRYPTO_PLAINTEXT]
] as const) {
  test(`MSE over loopback TCP, ${name}: the first write rides as IA, then 1 MiB each way arrives intact`, async (t) => {
    const pair = await socketPair()
    t.after(pair.close)
    const wireAtResponder = tap(pair.b)
    const wireAtInitiator = tap(pair.a)
    const a = initiator(pair.a, { provide })
    const b = responder(pair.b)
    t.after(() => { a.destroy(); b.destroy() })
    a.write(IA) // before the handshake: held, and sent as IA in step 3
    const [ra, rb] = await Promise.all([mseDone(a), mseDone(b)])
    assert.equal(ra.method, method)
    assert.equal(rb.method, method)
    assert.deepEqual(Buffer.from(rb.infoHash), Buffer.from(INFO_HASH), 'the responder found SKEY from req2 ^ req3')
    assert.deepEqual(Buffer.from(rb.initialPayload), IA, 'IA decrypted at the responder')
    assert.deepEqual(await readBytes(b, IA.length), IA, 'IA is the first thing the responder reads')
    assert.equal(wireAtResponder().indexOf(Buffer.from('BitTorrent protocol')), -1, 'IA is RC4 on the wire whatever is selected')

    const up = randomBytes(1 << 20)
    const down = randomBytes(1 << 20)
    const marker = Buffer.from('a recognisable payload marker 0123456789')
    const [gotUp, gotDown] = await Promise.all([
      readBytes(b, up.length + marker.length),
      readBytes(a, down.length),
      (async () => { a.write(up.subarray(0, 1000)); a.write(up.subarray(1000)); a.write(marker) })(),
      (async () => { b.write(down) })()
    ])
    assert.ok(gotUp.equals(Buffer.concat([up, marker])), 'initiator -> responder')
    assert.ok(gotDown.equals(down), 'responder -> initiator')
    const markerOnWire = wireAtResponder().indexOf(marker) >= 0
    assert.equal(markerOnWire, method === CRYPTO_PLAINTEXT, method === CRYPTO_RC4 ? 'RC4: the payload is not readable on the wire' : 'plaintext: the payload crosses as is')
    assert.ok(wireAtInitiator().length >= down.length + 96 + 14, 'the initiator saw Yb, step 4 and the payload')
  })
}

test('MSE: a responder that allows only plaintext and an initiator that requires RC4 fail the handshake on both sides', async (t) => {
  const pair = await socketPair()
  t.after(pair.close)
  const a = initiator(pair.a, { provide: CRYPTO_RC4 })
  const b = responder(pair.b, { select: selectMethod(CRYPTO_PLAINTEXT) })
  t.after(() => { a.destroy(); b.destroy() })
  await assert.rejects(mseDone(b), /closed before/)
  await assert.rejects(mseDone(a), /closed before/)
  assert.match(String((b as unknown as { errored: Error }).errored?.message), /no crypto method in common/)
})

test('MSE + BEP 3: a PeerConnection over each EncryptedStream exchanges handshakes (the first inside IA), a bitfield and a piece', async (t) => {
  const pair = await socketPair()
  t.after(pair.close)
  const a = initiator(pair.a, { provide: CRYPTO_RC4 })
  const b = responder(pair.b)
  const have = new BitField(8)
  have.set(5)
  const client = new PeerConnection(a, { infoHash: INFO_HASH, pieceCount: 8 })
  const server = new PeerConnection(b, { accept: (ih) => Buffer.from(ih).equals(Buffer.from(INFO_HASH)), pieceCount: 8, have })
  client.on('error', () => {})
  server.on('error', () => {})
  t.after(() => { client.destroy(); server.destroy() })
  await within(5000, 'both handshakes', Promise.all([waitForHandshake(client), waitForHandshake(server)]))
  assert.deepEqual(plain(await next(client)), plain({ type: 'bitfield', bitfield: have.bytes }))
  client.interested()
  assert.equal((await next(server)).type, 'interested')
  server.unchoke()
  assert.equal((await next(client)).type, 'unchoke')
  client.request(5, 0, 16384)
  const req = await next(server)
  assert.deepEqual(plain(req), plain({ type: 'request', index: 5, begin: 0, length: 16384 }))
  const block = randomBytes(16384)
  const before = Buffer.from(block)
  server.piece(5, 0, block)
  const piece = await next(client)
  assert.ok(piece.type === 'piece')
  assert.ok(Buffer.from(piece.block).equals(before))
  assert.ok(block.equals(before), 'the block we sent was not encrypted in place')
  assert.equal(a.mse?.method, CRYPTO_RC4)
})
