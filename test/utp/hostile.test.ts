import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { ProtocolError } from '../../lib/util/errors.js'
import type { UtpStream } from '../../lib/utp/stream-guard.js'
import { within } from '../wire/helpers.js'
import { openTransport, parseHeader, prngBytes, rawSocket, ST_DATA, ST_FIN, ST_STATE, ST_SYN, utpPacket, utpSkip } from './helpers.js'

const skip = utpSkip()

async function until (ms: number, what: string, cond: () => boolean): Promise<void> {
  await within(ms, what, (async () => { while (!cond()) await new Promise(resolve => setTimeout(resolve, 25)) })())
}

/** Streams `total` bytes from one transport to the other; resolves with what arrived. */
async function transfer (total: number, a: Awaited<ReturnType<typeof openTransport>>, b: Awaited<ReturnType<typeof openTransport>>): Promise<number> {
  const accepted = new Promise<UtpStream>((resolve) => b.once('connection', resolve))
  const out = await a.dial('127.0.0.1', b.port)
  out.on('error', () => {})
  const inbound = await accepted
  inbound.on('error', () => {})
  let got = 0
  const done = new Promise<void>((resolve) => inbound.on('data', (d: Buffer) => { got += d.length; if (got >= total) resolve() }))
  const chunk = Buffer.alloc(16384, 7)
  for (let sent = 0; sent < total; sent += chunk.length) if (!out.write(chunk)) await new Promise(resolve => out.once('drain', resolve))
  await within(30_000, 'transfer', done)
  out.destroy()
  inbound.destroy()
  return got
}

test('BEP 29 hostile: malformed datagrams (random bytes, truncated headers, bad versions, unknown connection ids) cost nothing; a transfer and new dials still work', { skip }, async (t) => {
  const a = await openTransport({ accept: false })
  const b = await openTransport()
  const raw = await rawSocket()
  t.after(async () => { raw.close(); await a.close(); await b.close() })
  const junk: Buffer[] = []
  const rnd = prngBytes(29)
  for (let i = 0; i < 400; i++) junk.push(rnd(i % 1500))
  for (let i = 0; i < 100; i++) junk.push(rnd(i % 20)) // shorter than a header
  for (let type = 0; type < 16; type++) for (let version = 0; version < 16; version++) {
    const p = utpPacket({ type: 0, connectionId: type * 16 + version, seq: 1, ack: 1 }, rnd(64))
    p[0] = (type << 4) | version
    junk.push(p)
  }
  // Valid-looking packets for connections that do not exist, and an extension chain that runs off the end.
  for (const type of [ST_DATA, ST_STATE, 1, 3]) junk.push(utpPacket({ type, connectionId: 4242, seq: 9, ack: 9 }, rnd(100)))
  const chain = utpPacket({ type: ST_SYN, connectionId: 77, seq: 1, ack: 0 }, Buffer.from([1, 200, 0, 0]))
  chain[1] = 1
  junk.push(chain)
  const flood = setInterval(() => { for (const j of junk.splice(0, 50)) raw.send(j, b.port, '127.0.0.1') }, 5)
  t.after(() => { clearInterval(flood) })
  const got = await transfer(4 * 1024 * 1024, a, b)
  assert.equal(got, 4 * 1024 * 1024)
  await until(10_000, 'all junk sent', () => junk.length === 0)
  const again = await within(5000, 'a new dial after the junk', a.dial('127.0.0.1', b.port))
  again.destroy()
})

test('BEP 29 hostile: a SYN flood (2000 SYNs, distinct connection ids) holds at most maxInbound connections; they expire and the port still serves', { skip }, async (t) => {
  const MAX = 16
  const b = await openTransport({ maxInbound: MAX, firstDataTimeout: 1000 })
  const a = await openTransport({ accept: false })
  const raw = await rawSocket()
  t.after(async () => { raw.close(); await a.close(); await b.close() })
  let peak = 0
  let accepted = 0
  b.on('connection', (s) => { accepted++; s.on('error', () => {}); peak = Math.max(peak, b.inbound) })
  for (let id = 0; id < 2000; id++) {
    raw.send(utpPacket({ type: ST_SYN, connectionId: id * 2, seq: 1, ack: 0 }), b.port, '127.0.0.1')
    if (id % 100 === 99) await new Promise(resolve => setTimeout(resolve, 5))
  }
  await new Promise(resolve => setTimeout(resolve, 500))
  assert.ok(peak <= MAX, `peak ${peak} inbound connections, bound ${MAX}`)
  assert.ok(accepted <= MAX + 1, `${accepted} connections were created for 2000 SYNs`)
  // Never followed up: each is closed after firstDataTimeout, and the firewall reopens.
  await until(30_000, 'the flood expires', () => b.inbound === 0)
  const s = await within(10_000, 'a real dial after the flood', a.dial('127.0.0.1', b.port))
  s.destroy()
})

test('BEP 29 hostile: a peer that stops acknowledging is dropped by libutp\'s retransmission timeout; writes stay bounded', { skip }, async (t) => {
  const a = await openTransport({ accept: false })
  const raw = await rawSocket()
  t.after(async () => { raw.close(); await a.close() })
  // The peer answers our SYN (BEP 29: ST_STATE, connection_id = the SYN's, ack_nr = its seq_nr), then is silent.
  raw.on('message', (msg, rinfo) => {
    const h = parseHeader(msg)
    if (h.type === ST_SYN) raw.send(utpPacket({ type: ST_STATE, connectionId: h.connectionId, seq: 1000, ack: h.seq }), rinfo.port, rinfo.address)
  })
  const s = await within(5000, 'dial', a.dial('127.0.0.1', raw.port))
  const closed = new Promise<Error | undefined>((resolve) => {
    let error: Error | undefined
    s.on('error', (e: Error) => { error = e })
    s.on('close', () => resolve(error))
  })
  const started = Date.now()
  let accepted = 0
  const chunk = Buffer.alloc(16384)
  // Write until the stream says stop: libutp holds at most its send window unacknowledged.
  while (s.write(chunk)) accepted += chunk.length
  assert.ok(accepted < 4 * 1024 * 1024, `${accepted} bytes taken before backpressure`)
  const err = await within(90_000, 'dropped', closed)
  assert.match(String(err?.message), /UTP_ETIMEDOUT|UTP_ECONNRESET/)
  assert.ok(Date.now() - started < 90_000)
})

test('unread bytes are bounded: a uTP peer sending more than maxUnreadBytes while we do not read is dropped with a ProtocolError', { skip }, async (t) => {
  const MAX = 1024 * 1024
  const a = await openTransport({ accept: false })
  const b = await openTransport({ maxUnreadBytes: MAX })
  t.after(async () => { await a.close(); await b.close() })
  const accepted = new Promise<UtpStream>((resolve) => b.once('connection', resolve))
  const out = await a.dial('127.0.0.1', b.port)
  out.on('error', () => {})
  out.write('x') // the accepting side hears of a connection with its first data
  const inbound = await within(5000, 'accept', accepted)
  inbound.pause() // a reader that stopped: with TCP the window would close
  const closed = new Promise<Error | undefined>((resolve) => {
    let error: Error | undefined
    inbound.on('error', (e: Error) => { error = e })
    inbound.on('close', () => resolve(error))
  })
  const chunk = randomBytes(16384)
  const pump = async (): Promise<void> => {
    for (let i = 0; i < 1024 && !out.destroyed && !inbound.destroyed; i++) if (!out.write(chunk)) await new Promise(resolve => { out.once('drain', resolve); out.once('close', resolve) })
  }
  void pump()
  const err = await within(30_000, 'dropped', closed)
  assert.ok(err instanceof ProtocolError, String(err))
  assert.match(err.message, /bytes we did not read \(bound 1048576\)/)
  assert.ok(inbound.readableLength < MAX + 256 * 1024, `held ${inbound.readableLength} bytes at most one packet burst past the bound`)
})

test('BEP 29: a FIN carrying libtorrent\'s close-reason extension (type 3, which libutp drops as not uTP) still ends the connection', { skip }, async (t) => {
  const a = await openTransport({ accept: false })
  const raw = await rawSocket()
  t.after(async () => { raw.close(); await a.close() })
  raw.on('message', (msg, rinfo) => {
    const h = parseHeader(msg)
    if (h.type === ST_SYN) raw.send(utpPacket({ type: ST_STATE, connectionId: h.connectionId, seq: 1000, ack: h.seq }), rinfo.port, rinfo.address)
    if (h.type === ST_DATA && h.payload.length > 0) {
      // What libtorrent 2.0 sends when it closes a duplicate: ST_FIN, extension 3, 4 bytes of reason.
      const fin = Buffer.concat([utpPacket({ type: ST_FIN, connectionId: h.connectionId - 1, seq: 1000, ack: h.seq }), Buffer.from([0, 4, 0, 0, 0, 5])])
      fin[1] = 3
      raw.send(fin, rinfo.port, rinfo.address)
    }
  })
  const s = await within(5000, 'dial', a.dial('127.0.0.1', raw.port))
  const failed = new Promise<Error>((resolve) => { s.on('error', resolve) })
  s.resume()
  s.write('hello')
  const err = await within(5000, 'the connection reports the close', failed)
  assert.match(String(err?.message), /closed the connection \(a FIN carrying extension 3/)
})
