import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError } from '../../lib/util/errors.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { encodeHandshake, encodeReserved } from '../../lib/wire/handshake.js'
import { waitForHandshake } from '../../lib/wire/connect.js'
import { PeerConnection, type PeerConnectionOptions } from '../../lib/wire/peer-connection.js'
import { frames, next, plain, socketPair, within } from './helpers.js'

const INFO_HASH = new Uint8Array(20).fill(0x11)
const PIECES = 20

async function pair (a: Partial<PeerConnectionOptions> = {}, b: Partial<PeerConnectionOptions> = {}) {
  const sockets = await socketPair()
  const client = new PeerConnection(sockets.a, { infoHash: INFO_HASH, pieceCount: PIECES, ...a })
  const server = new PeerConnection(sockets.b, { accept: () => true, pieceCount: PIECES, ...b })
  client.on('error', () => {})
  server.on('error', () => {})
  const close = async (): Promise<void> => { client.destroy(); server.destroy(); await sockets.close() }
  return { client, server, sockets, close }
}

function closedWith (conn: PeerConnection): Promise<Error | undefined> {
  return within(5000, 'connection close', new Promise((resolve) => {
    let error: Error | undefined
    conn.on('error', (err) => { error = err })
    conn.on('close', () => resolve(error))
  }))
}

test('BEP 3/6/10: both handshakes, reserved bits, client names and extension handshakes', async () => {
  const { client, server, close } = await pair({ extensions: { m: { ut_metadata: 3 }, metadataSize: 1234, port: 6881 } })
  try {
    const [hc, hs] = await within(5000, 'handshakes', Promise.all([waitForHandshake(client), waitForHandshake(server)]))
    assert.equal(hc.client?.name, 'bt-stream')
    assert.equal(hs.client?.name, 'bt-stream')
    assert.deepEqual(hc.extensions, { extended: true, fast: true, dht: false })
    assert.deepEqual(plain(server.infoHash), plain(INFO_HASH))
    assert.ok(client.fastEnabled && client.extendedEnabled)
    const ext = await within(5000, 'extended handshake', new Promise((resolve) => server.once('extended-handshake', resolve)))
    assert.deepEqual(plain(ext), plain({ m: { ut_metadata: 3 }, v: 'bt-stream 0.1.0', p: 6881, reqq: 250, metadataSize: 1234, yourip: Uint8Array.from([127, 0, 0, 1]) }))
  } finally { await close() }
})

test('BEP 5: the DHT bit is set only when asked', async () => {
  const { client, server, close } = await pair({ dht: true })
  try {
    const [hc, hs] = await within(5000, 'handshakes', Promise.all([waitForHandshake(client), waitForHandshake(server)]))
    assert.equal(hs.extensions.dht, true, 'server sees the client\'s DHT bit')
    assert.equal(hc.extensions.dht, false)
  } finally { await close() }
})

test('BEP 3: interested / unchoke / request / piece change state on both sides', async () => {
  const have = new BitField(PIECES)
  have.set(3)
  const { client, server, close } = await pair({}, { have })
  try {
    await within(5000, 'handshake', waitForHandshake(client))
    assert.deepEqual(plain(await next(client)), plain({ type: 'bitfield', bitfield: have.bytes }))
    assert.equal(client.peerPieces?.get(3), true)
    assert.equal(client.peerPieces?.count(), 1)
    client.interested()
    assert.equal(client.amInterested, true)
    assert.deepEqual(await next(server), { type: 'interested' })
    assert.equal(server.peerInterested, true)
    server.unchoke()
    assert.deepEqual(await next(client), { type: 'unchoke' })
    assert.equal(client.peerChoking, false)
    client.request(3, 0, 5)
    assert.deepEqual(await next(server), { type: 'request', index: 3, begin: 0, length: 5 })
    server.piece(3, 0, Uint8Array.from([1, 2, 3, 4, 5]))
    const piece = await next(client)
    assert.ok(piece.type === 'piece')
    assert.deepEqual(Array.from(piece.block), [1, 2, 3, 4, 5])
    assert.equal(client.downloaded, 5)
    assert.equal(server.uploaded, 5)
    server.have(4)
    assert.deepEqual(await next(client), { type: 'have', index: 4 })
    assert.equal(client.peerPieces?.get(4), true)
  } finally { await close() }
})

test('BEP 3: requests() sends each request as its own 17-byte message, in order, between other messages', async () => {
  const { client, server, close } = await pair()
  try {
    await within(5000, 'handshake', waitForHandshake(client))
    client.interested()
    client.requests([{ index: 1, begin: 0, length: 16384 }, { index: 1, begin: 16384, length: 16384 }, { index: 19, begin: 32768, length: 7 }])
    client.have(2)
    client.requests([{ index: 0, begin: 0, length: 1 }])
    const got = []
    for (let i = 0; i < 6; i++) got.push(plain(await next(server, ['extended', 'bitfield', 'haveNone'])))
    assert.deepEqual(got, [
      { type: 'interested' },
      { type: 'request', index: 1, begin: 0, length: 16384 },
      { type: 'request', index: 1, begin: 16384, length: 16384 },
      { type: 'request', index: 19, begin: 32768, length: 7 },
      { type: 'have', index: 2 },
      { type: 'request', index: 0, begin: 0, length: 1 }
    ])
  } finally { await close() }
})

test('BEP 3: the requests of one event-loop turn leave in one socket write, and a cancel never overtakes its request', async () => {
  const { client, server, sockets, close } = await pair()
  try {
    await within(5000, 'handshake', waitForHandshake(client))
    const writes: number[] = []
    const write = sockets.a.write.bind(sockets.a) as (chunk: Uint8Array, cb?: () => void) => boolean
    // Only the request writes (message id 6 after the 4-byte length): the extension handshake may still be on its way.
    sockets.a.write = ((chunk: Uint8Array, cb?: () => void) => { if (chunk[4] === 6) writes.push(chunk.byteLength); return write(chunk, cb) }) as typeof sockets.a.write
    // Each arriving block tops its peer up: four blocks of one socket read, four calls.
    for (let b = 0; b < 4; b++) client.requests([{ index: 3, begin: b * 16384, length: 16384 }, { index: 4, begin: b * 16384, length: 16384 }])
    const got = []
    for (let i = 0; i < 8; i++) got.push(plain(await next(server, ['extended', 'bitfield', 'haveNone'])))
    assert.equal(got.length, 8)
    assert.deepEqual(writes, [8 * 17], 'eight requests, one write')
    client.requests([{ index: 5, begin: 0, length: 16384 }])
    client.cancel(5, 0, 16384)
    assert.deepEqual(plain(await next(server)), { type: 'request', index: 5, begin: 0, length: 16384 })
    assert.deepEqual(plain(await next(server)), { type: 'cancel', index: 5, begin: 0, length: 16384 })
  } finally { await close() }
})

test('requests() queued when the connection is destroyed are dropped, not written to a closed socket', async () => {
  const { client, close } = await pair()
  try {
    await within(5000, 'handshake', waitForHandshake(client))
    assert.equal(client.requests([{ index: 1, begin: 0, length: 16384 }]), true)
    const closed = within(5000, 'close', new Promise<void>(resolve => client.once('close', () => resolve())))
    client.destroy()
    assert.equal(client.requests([{ index: 1, begin: 16384, length: 16384 }]), false)
    await closed
    await new Promise(resolve => setImmediate(resolve))
  } finally { await close() }
})

test('BEP 6: a full bitfield is sent as have all when both sides speak the fast extension', async () => {
  const { client, close } = await pair({}, { have: BitField.full(PIECES) })
  try {
    assert.deepEqual(await next(client), { type: 'haveAll' })
    assert.equal(client.peerPieces?.hasAll(), true)
  } finally { await close() }
})

test('BEP 3: a peer answering with another info hash is dropped with a clear reason', async () => {
  const sockets = await socketPair()
  const client = new PeerConnection(sockets.a, { infoHash: INFO_HASH })
  try {
    const closed = closedWith(client)
    sockets.b.write(encodeHandshake({ reserved: new Uint8Array(8), infoHash: new Uint8Array(20).fill(0x22), peerId: new Uint8Array(20).fill(0x33) }))
    const err = await closed
    assert.ok(err instanceof ProtocolError)
    assert.match(err.message, /info hash 2222.*we asked for 1111/)
  } finally { client.destroy(); await sockets.close() }
})

test('inbound: the accept callback refuses an info hash we do not serve', async () => {
  const seen: Uint8Array[] = []
  const { client, server, close } = await pair({}, { accept: async (ih) => { seen.push(ih); return false } })
  try {
    const [errServer, errClient] = await Promise.all([closedWith(server), closedWith(client)])
    assert.deepEqual(plain(seen), plain([INFO_HASH]))
    assert.match(errServer?.message ?? '', /not serving info hash 1111/)
    assert.match(errClient?.message ?? '', /during the handshake/)
  } finally { await close() }
})

test('handshake timeout: a silent peer is dropped', async () => {
  const sockets = await socketPair()
  const client = new PeerConnection(sockets.a, { infoHash: INFO_HASH, handshakeTimeout: 50 })
  try {
    assert.match((await closedWith(client))?.message ?? '', /no handshake within 50 ms/)
  } finally { await sockets.close() }
})

test('BEP 3: a keep-alive is sent after keepAliveInterval of silence', async () => {
  const sockets = await socketPair()
  const client = new PeerConnection(sockets.a, { infoHash: INFO_HASH, keepAliveInterval: 20 })
  client.on('error', () => {})
  const raw: Buffer[] = []
  sockets.b.on('data', (c: Buffer) => raw.push(c))
  sockets.b.write(encodeHandshake({ reserved: new Uint8Array(8), infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(0x33) }))
  try {
    // After our 68-byte handshake, the next bytes on the wire are a keep-alive: <len=0>.
    await within(5000, 'keep-alive', (async () => {
      while (Buffer.concat(raw).length < 72) await new Promise(resolve => setTimeout(resolve, 10))
    })())
    assert.deepEqual(Array.from(Buffer.concat(raw).subarray(68, 72)), [0, 0, 0, 0])
  } finally { client.destroy(); await sockets.close() }
})

test('idle timeout: a peer that sends nothing after its handshake is dropped', async () => {
  const p = await socketPair()
  const quiet = new PeerConnection(p.a, { infoHash: INFO_HASH, idleTimeout: 40 })
  const closed = closedWith(quiet)
  p.b.write(encodeHandshake({ reserved: new Uint8Array(8), infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(0x33) }))
  try {
    assert.match((await closed)?.message ?? '', /idle: nothing received for 40 ms/)
  } finally { await p.close() }
})

/** Connects a PeerConnection to a raw socket that plays a peer sending `bytes` after its handshake. */
async function hostile (bytes: Uint8Array, reserved = encodeReserved({ extended: true, fast: true, dht: false })): Promise<Error | undefined> {
  const sockets = await socketPair()
  const conn = new PeerConnection(sockets.a, { infoHash: INFO_HASH, pieceCount: PIECES })
  conn.resume()
  const closed = closedWith(conn)
  sockets.b.write(Buffer.concat([encodeHandshake({ reserved, infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(0x33) }), bytes]))
  try { return await closed } finally { await sockets.close() }
}

test('hostile table: each violation closes the connection with a ProtocolError naming it', async () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['oversized length prefix', Uint8Array.from([0x10, 0, 0, 0]), /exceeds the bound/],
    ['bitfield of the wrong size', frames([{ type: 'bitfield', bitfield: new Uint8Array(4) }]), /id 5 with length 5/],
    ['bitfield with spare bits', frames([{ type: 'bitfield', bitfield: Uint8Array.from([0, 0, 0x0f]) }]), /spare bits/],
    ['have out of range', frames([{ type: 'have', index: PIECES }]), /past the last piece/],
    ['request of 16 KiB + 1', frames([{ type: 'request', index: 0, begin: 0, length: 16385 }]), /block of 16385 bytes/],
    ['request of 0 bytes', frames([{ type: 'request', index: 0, begin: 0, length: 0 }]), /block of 0 bytes/],
    ['malformed extension handshake', frames([{ type: 'extended', id: 0, payload: new TextEncoder().encode('d1:m') }]), /malformed extension handshake/],
    ['extension handshake that is a list', frames([{ type: 'extended', id: 0, payload: new TextEncoder().encode('le') }]), /not a dictionary/]
  ]
  for (const [name, bytes, pattern] of cases) {
    const err = await hostile(bytes)
    assert.ok(err instanceof ProtocolError, name)
    assert.match(err.message, pattern, name)
  }
  const noFast = encodeReserved({ extended: false, fast: false, dht: false })
  assert.match((await hostile(frames([{ type: 'haveAll' }]), noFast))?.message ?? '', /did not negotiate BEP 6/)
  assert.match((await hostile(frames([{ type: 'extended', id: 1, payload: new Uint8Array(1) }]), noFast))?.message ?? '', /did not negotiate BEP 10/)
})

test('liberal where real clients are: have none, haves, then two bitfields (aria2 1.36) merge into the peer\'s pieces', async () => {
  const sockets = await socketPair()
  const conn = new PeerConnection(sockets.a, { infoHash: INFO_HASH, pieceCount: PIECES })
  const first = new BitField(PIECES)
  first.set(5)
  const second = new BitField(PIECES)
  second.set(7)
  sockets.b.write(Buffer.concat([
    encodeHandshake({ reserved: encodeReserved({ extended: true, fast: true, dht: false }), infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(0x33) }),
    frames([{ type: 'haveNone' }, { type: 'have', index: 1 }, { type: 'bitfield', bitfield: first.bytes }, { type: 'bitfield', bitfield: second.bytes }, { type: 'haveNone' }, { type: 'unchoke' }])
  ]))
  try {
    const types: string[] = []
    for (let i = 0; i < 6; i++) types.push((await next(conn)).type)
    assert.deepEqual(types, ['haveNone', 'have', 'bitfield', 'bitfield', 'haveNone', 'unchoke'])
    assert.deepEqual([...(conn.peerPieces?.indexes() ?? [])], [1, 5, 7], 'a late bitfield adds; a late have none takes nothing back')
    assert.equal(conn.destroyed, false)
  } finally { conn.destroy(); await sockets.close() }
})

test('BEP 3: unknown message ids are read as "unknown" and the connection stays up', async () => {
  const sockets = await socketPair()
  const conn = new PeerConnection(sockets.a, { infoHash: INFO_HASH, pieceCount: PIECES })
  sockets.b.write(Buffer.concat([
    encodeHandshake({ reserved: new Uint8Array(8), infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(0x33) }),
    frames([{ type: 'unknown', id: 99, payload: Uint8Array.from([5]) }, { type: 'keepAlive' }, { type: 'unchoke' }])
  ]))
  try {
    assert.deepEqual(plain(await next(conn)), { type: 'unknown', id: 99, payload: [5] })
    assert.deepEqual(await next(conn), { type: 'unchoke' })
    assert.equal(conn.destroyed, false)
  } finally { conn.destroy(); await sockets.close() }
})

test('magnet: with the piece count unknown, a bitfield is held and checked when it becomes known', async () => {
  const { client, server, close } = await pair({ pieceCount: undefined }, { have: BitField.full(PIECES), fast: false })
  try {
    const m = await next(client)
    assert.equal(m.type, 'bitfield')
    assert.equal(client.peerPieces === undefined, true)
    client.setPieceCount(PIECES)
    assert.equal(client.peerPieces?.hasAll(), true)
    server.have(1)
    assert.deepEqual(await next(client), { type: 'have', index: 1 })
  } finally { await close() }
  const again = await pair({ pieceCount: undefined }, { have: BitField.full(PIECES), fast: false })
  try {
    await next(again.client)
    const closed = closedWith(again.client)
    again.client.setPieceCount(PIECES + 8) // the held bitfield is one byte short for this count
    assert.match((await closed)?.message ?? '', /bitfield of 3 bytes, expected 4/)
  } finally { await again.close() }
})

test('a peer that sends a piece and closes: the piece is still read, then the stream ends', async () => {
  const sockets = await socketPair()
  const conn = new PeerConnection(sockets.a, { infoHash: INFO_HASH, pieceCount: PIECES })
  conn.on('error', () => {})
  sockets.b.end(Buffer.concat([
    encodeHandshake({ reserved: new Uint8Array(8), infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(0x33) }),
    frames([{ type: 'piece', index: 1, begin: 0, block: Uint8Array.from([7, 7]) }])
  ]))
  try {
    const ended = new Promise<void>(resolve => conn.once('end', () => resolve()))
    await within(5000, 'socket closed', new Promise<void>(resolve => sockets.a.once('close', () => resolve())))
    const m = await next(conn)
    assert.deepEqual(plain(m), { type: 'piece', index: 1, begin: 0, block: [7, 7] })
    conn.resume()
    await within(5000, 'end', ended)
  } finally { conn.destroy(); await sockets.close() }
})

test('BEP 6: sending have all to a peer without the fast extension is refused (our bug, loudly)', async () => {
  const { client, close } = await pair({}, { fast: false })
  try {
    await within(5000, 'handshake', waitForHandshake(client))
    const closed = closedWith(client)
    client.haveAll()
    assert.match((await closed)?.message ?? '', /cannot send haveAll: the peer did not negotiate BEP 6/)
  } finally { await close() }
})
