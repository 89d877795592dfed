import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { test } from 'node:test'
import { DhKeyPair, MSE_PRIME } from '../../lib/crypto/dh.js'
import { MseError } from '../../lib/crypto/errors.js'
import { HandshakeReader } from '../../lib/crypto/handshake-reader.js'
import { CRYPTO_RC4, initiateMse, MAX_PADDING, respondMse, selectMethod, type MseIO } from '../../lib/crypto/mse-handshake.js'
import { socketPair } from '../wire/helpers.js'
import { BOTH, closeReason, INFO_HASH, initiator, mseDone, responder, skeys } from './helpers.js'

// Every case: the hostile side is a raw socket driven by hand (or by our own handshake functions
// with out-of-spec settings); our side is an EncryptedStream, which must close that connection
// with an MseError naming the reason, within a bounded time, and nothing else.

/** Our handshake functions over a raw socket, to play a peer that breaks one rule. */
function rawIO (socket: Socket): MseIO {
  const reader = new HandshakeReader({ pause: () => { socket.pause() }, resume: () => { socket.resume() } }, 1 << 20)
  socket.on('data', (c: Uint8Array) => { reader.push(c) })
  socket.on('close', () => { reader.fail(new Error('closed')) })
  socket.on('error', () => {})
  return { reader, send: (b) => { socket.write(b) } }
}

async function expectClosed (s: Parameters<typeof closeReason>[0], pattern: RegExp, ms = 5000): Promise<void> {
  const started = Date.now()
  const err = await closeReason(s, ms)
  assert.ok(err instanceof MseError, `closed with an MseError (got ${String(err)})`)
  assert.match(err.message, pattern)
  assert.ok(Date.now() - started < ms)
}

const P_MINUS_1 = Buffer.from(MSE_PRIME)
P_MINUS_1[95] = (P_MINUS_1[95] as number) - 1

test('MSE hostile: an initiator whose DH key is P-1 (or 0) is closed on its 96th byte', async (t) => {
  for (const bad of [P_MINUS_1, Buffer.alloc(96)]) {
    const pair = await socketPair()
    t.after(pair.close)
    const b = responder(pair.b)
    pair.a.on('error', () => {})
    pair.a.write(bad)
    await expectClosed(b, /Diffie-Hellman key is out of range/)
  }
})

test('MSE hostile: a responder whose DH key is P-1 is closed by the initiator', async (t) => {
  const pair = await socketPair()
  t.after(pair.close)
  const a = initiator(pair.a)
  pair.b.on('error', () => {})
  pair.b.write(P_MINUS_1)
  await expectClosed(a, /Diffie-Hellman key is out of range/)
})

test('MSE hostile: garbage after a plausible key: no HASH(req1) within 512 bytes (responder), no VC within 512 bytes (initiator)', async (t) => {
  const p1 = await socketPair()
  t.after(p1.close)
  const b = responder(p1.b)
  p1.a.on('error', () => {})
  p1.a.write(Buffer.concat([new DhKeyPair().publicKey, randomBytes(2000)]))
  await expectClosed(b, /no HASH\('req1', S\) from the initiator within 512 bytes/)

  const p2 = await socketPair()
  t.after(p2.close)
  const a = initiator(p2.a)
  p2.b.on('error', () => {})
  p2.b.write(Buffer.concat([new DhKeyPair().publicKey, randomBytes(2000)]))
  await expectClosed(a, /no VC from the responder within 512 bytes/)
})

test('MSE hostile: 600 bytes of padding is refused both ways; exactly 512 is accepted', async (t) => {
  // PadA of 600 from an initiator.
  const p1 = await socketPair()
  t.after(p1.close)
  const b = responder(p1.b)
  initiateMse(rawIO(p1.a), { infoHash: INFO_HASH, provide: BOTH, initialPayload: () => new Uint8Array(0), padding: { a: 600 } }).catch(() => {})
  await expectClosed(b, /within 512 bytes of padding/)
  // PadB of 600 from a responder.
  const p2 = await socketPair()
  t.after(p2.close)
  const a = initiator(p2.a)
  respondMse(rawIO(p2.b), { findSkey: skeys(INFO_HASH), select: selectMethod(BOTH), padding: { b: 600 } }).catch(() => {})
  await expectClosed(a, /no VC from the responder within 512 bytes/)
  // The spec's largest padding, both ways, works.
  const p3 = await socketPair()
  t.after(p3.close)
  const a3 = initiator(p3.a)
  const theirs = respondMse(rawIO(p3.b), { findSkey: skeys(INFO_HASH), select: selectMethod(BOTH), padding: { b: MAX_PADDING } })
  assert.equal((await mseDone(a3)).method, CRYPTO_RC4)
  await theirs
  const p4 = await socketPair()
  t.after(p4.close)
  const b4 = responder(p4.b)
  const mine = initiateMse(rawIO(p4.a), { infoHash: INFO_HASH, provide: BOTH, initialPayload: () => new Uint8Array(0), padding: { a: MAX_PADDING } })
  assert.equal((await mseDone(b4)).method, CRYPTO_RC4)
  await mine
})

test('MSE hostile: an initiator asking for a torrent we do not serve (unknown SKEY hash) is closed', async (t) => {
  const pair = await socketPair()
  t.after(pair.close)
  const b = responder(pair.b)
  initiateMse(rawIO(pair.a), { infoHash: new Uint8Array(20).fill(9), provide: BOTH, initialPayload: () => new Uint8Array(0) }).catch(() => {})
  await expectClosed(b, /a torrent we do not serve/)
})

test('MSE hostile: a right req2 hash with a wrong VC (not keyed as the spec says) is closed', async (t) => {
  const pair = await socketPair()
  t.after(pair.close)
  const b = responder(pair.b, { findSkey: () => new Uint8Array(20).fill(1) }) // any hash matches, keys will differ
  initiateMse(rawIO(pair.a), { infoHash: INFO_HASH, provide: BOTH, initialPayload: () => new Uint8Array(0) }).catch(() => {})
  await expectClosed(b, /bad VC/)
})

test('MSE hostile: a peer that stalls inside the handshake is closed after handshakeTimeout, both roles', async (t) => {
  const p1 = await socketPair()
  t.after(p1.close)
  const b = responder(p1.b, { handshakeTimeout: 300 })
  p1.a.on('error', () => {})
  p1.a.write(new DhKeyPair().publicKey.subarray(0, 50)) // half a key, then nothing
  await expectClosed(b, /handshake not done within 300 ms/)
  const p2 = await socketPair()
  t.after(p2.close)
  const a = initiator(p2.a, { handshakeTimeout: 300 })
  p2.b.on('error', () => {})
  await expectClosed(a, /handshake not done within 300 ms/) // the responder never answers
})

test('MSE hostile: a peer closing mid-handshake closes that connection, both roles', async (t) => {
  const p1 = await socketPair()
  t.after(p1.close)
  const b = responder(p1.b)
  p1.a.end(new DhKeyPair().publicKey) // Ya, then FIN before req1
  await expectClosed(b, /closed the connection during the handshake/)
  const p2 = await socketPair()
  t.after(p2.close)
  const a = initiator(p2.a)
  p2.b.on('error', () => {})
  p2.b.once('data', () => { p2.b.destroy() }) // reads Ya, resets
  await expectClosed(a, /during the handshake|ECONNRESET|closed/)
})

test('MSE hostile: a 4 MiB flood after a key is closed at the padding window, not read to its end', async (t) => {
  const pair = await socketPair()
  t.after(pair.close)
  const b = responder(pair.b)
  pair.a.on('error', () => {})
  pair.a.write(Buffer.concat([new DhKeyPair().publicKey, randomBytes(4 << 20)]))
  await expectClosed(b, /within 512 bytes of padding/)
})
