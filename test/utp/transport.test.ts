import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { BitField } from '../../lib/wire/bitfield.js'
import { connect, PeerConnectError, waitForHandshake } from '../../lib/wire/connect.js'
import { PeerConnection } from '../../lib/wire/peer-connection.js'
import type { UtpStream } from '../../lib/utp/stream-guard.js'
import { next, within } from '../wire/helpers.js'
import { openTransport, utpSkip } from './helpers.js'

const skip = utpSkip()
const INFO_HASH = new Uint8Array(20).fill(0x29)
const PIECES = 8

test('BEP 29: a PeerConnection runs over a dialed and an accepted uTP stream as over TCP: handshakes, request, piece', { skip }, async (t) => {
  const a = await openTransport({ accept: false })
  const b = await openTransport()
  t.after(async () => { await a.close(); await b.close() })
  const accepted = new Promise<UtpStream>((resolve) => b.once('connection', resolve))
  const out = await within(5000, 'uTP dial', a.dial('127.0.0.1', b.port))
  const inbound = await within(5000, 'uTP accept', accepted)
  assert.equal(inbound.remotePort, a.port, 'the accepted stream names the dialer\'s UDP port')
  const have = new BitField(PIECES)
  have.set(5)
  const client = new PeerConnection(out, { infoHash: INFO_HASH, pieceCount: PIECES })
  const server = new PeerConnection(inbound, { accept: () => true, pieceCount: PIECES, have })
  t.after(() => { client.destroy(); server.destroy() })
  await within(5000, 'handshakes', Promise.all([waitForHandshake(client), waitForHandshake(server)]))
  assert.deepEqual((await next(client)).type, 'bitfield')
  client.interested()
  assert.deepEqual(await next(server), { type: 'interested' })
  server.unchoke()
  assert.deepEqual(await next(client), { type: 'unchoke' })
  const block = Buffer.alloc(16384)
  for (let i = 0; i < block.length; i++) block[i] = (i * 7) & 0xff
  client.request(5, 16384, 16384)
  assert.deepEqual(await next(server), { type: 'request', index: 5, begin: 16384, length: 16384 })
  server.piece(5, 16384, block)
  const piece = await next(client)
  assert.ok(piece.type === 'piece')
  assert.ok(Buffer.from(piece.block).equals(block), 'the 16 KiB block arrived intact over uTP')
  assert.equal(client.downloaded, 16384)
})

test('BEP 29: closing one end closes the other (FIN), and the transport counts both connections down', { skip }, async (t) => {
  const a = await openTransport({ accept: false })
  const b = await openTransport()
  t.after(async () => { await a.close(); await b.close() })
  const accepted = new Promise<UtpStream>((resolve) => b.once('connection', resolve))
  const out = await a.dial('127.0.0.1', b.port)
  out.write('hello')
  const inbound = await within(5000, 'accept', accepted)
  assert.equal(b.inbound, 1)
  assert.equal(a.outbound, 1)
  const closed = new Promise<void>((resolve) => inbound.once('close', () => resolve()))
  inbound.on('error', () => {})
  inbound.resume()
  out.end()
  await within(10_000, 'the accepted side closes', closed)
  await within(10_000, 'both counted down', (async () => { while (a.outbound + b.inbound > 0) await new Promise(resolve => setTimeout(resolve, 20)) })())
})

test('a uTP dial to a port nobody answers fails within its timeout, as a PeerConnectError the swarm classifies as a connect timeout', { skip }, async (t) => {
  const a = await openTransport({ accept: false })
  t.after(async () => { await a.close() })
  // A TCP-only peer: a TCP listener, no UDP socket on its port.
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const started = Date.now()
  const err = await a.dial('127.0.0.1', port, { timeout: 1500 }).then(() => undefined, (e: Error) => e)
  assert.ok(err instanceof PeerConnectError, String(err))
  assert.match(err.message, /over uTP: no answer within 1500 ms/)
  assert.equal((err.cause as { code?: string }).code, 'ETIMEDOUT')
  assert.ok(Date.now() - started < 10_000)
  await within(5000, 'the failed dial leaves no connection behind', (async () => { while (a.outbound > 0) await new Promise(resolve => setTimeout(resolve, 20)) })())
})

test('a dial aborted by its signal rejects at once and leaves nothing open', { skip }, async (t) => {
  const a = await openTransport({ accept: false })
  t.after(async () => { await a.close() })
  const ac = new AbortController()
  const p = a.dial('127.0.0.1', 9, { signal: ac.signal, timeout: 60_000 })
  ac.abort()
  await assert.rejects(within(2000, 'abort', p), /aborted/)
  await within(5000, 'no connection left', (async () => { while (a.outbound > 0) await new Promise(resolve => setTimeout(resolve, 20)) })())
})

test('TCP dials are untouched by uTP: connect() reaches a TCP peer while a transport is open', { skip }, async (t) => {
  const a = await openTransport()
  t.after(async () => { await a.close() })
  const server = createServer((s) => {
    const conn = new PeerConnection(s, { accept: () => true, pieceCount: PIECES })
    conn.on('error', () => {})
    t.after(() => { conn.destroy() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.close() })
  const conn = await connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, infoHash: INFO_HASH, pieceCount: PIECES })
  t.after(() => { conn.destroy() })
  assert.ok(conn.peerHandshake !== undefined)
})
