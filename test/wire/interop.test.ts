import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import Wire from 'bittorrent-protocol'
import { BitField } from '../../lib/wire/bitfield.js'
import { acceptPeer, connect } from '../../lib/wire/connect.js'
import { toHex } from '../../lib/wire/handshake.js'
import type { Message } from '../../lib/wire/messages.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import { nextOf, within } from './helpers.js'

// The other end is the npm bittorrent-protocol package (WebTorrent's wire), over real loopback TCP.
const INFO_HASH = Buffer.alloc(20, 0x5a)
const THEIR_ID = Buffer.from('-WW0207-abcdefghijkl')
const PIECES = 16
const BLOCK = Buffer.alloc(16384, 0xc3)

function listen (onSocket: (s: Socket) => void): Promise<{ port: number, close: () => Promise<void> }> {
  const server = createServer(onSocket)
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address()
    if (addr === null || typeof addr === 'string') throw new Error('no address')
    resolve({ port: addr.port, close: () => new Promise<void>((r) => server.close(() => r())) })
  }))
}

test('interop BEP 3/6/10: we dial bittorrent-protocol: handshake, extended handshake, bitfield, request/piece both ways', async () => {
  let resolveWire: (w: Wire) => void = () => {}
  const ready = new Promise<Wire>((resolve) => { resolveWire = resolve })
  let wire: Wire | undefined
  const server = await listen((socket) => {
    const w = new Wire()
    wire = w
    socket.pipe(w as unknown as NodeJS.WritableStream)
    ;(w as unknown as NodeJS.ReadableStream).pipe(socket)
    w.on('error', () => {})
    w.extendedHandshake.v = 'bittorrent-protocol'
    w.on('handshake', () => {
      w.handshake(INFO_HASH, THEIR_ID, { fast: true })
      const bf = new BitField(PIECES)
      bf.set(2)
      w.bitfield(bf.bytes)
    })
    w.on('interested', () => w.unchoke())
    w.on('request', (_index: number, offset: number, length: number, respond: (err: Error | null, b: Uint8Array) => void) => {
      respond(null, BLOCK.subarray(offset, offset + length))
    })
    resolveWire(w)
  })
  const conn = await within(5000, 'connect', connect({ host: '127.0.0.1', port: server.port, infoHash: INFO_HASH, pieceCount: PIECES, extensions: { m: { ut_metadata: 1 } } }))
  conn.on('error', () => {})
  try {
    const them = await ready
    assert.equal(conn.peerHandshake?.client?.name, 'WebTorrent')
    assert.deepEqual(conn.peerHandshake?.extensions, { extended: true, fast: true, dht: false })
    assert.equal(conn.fastEnabled, true)
    const ext = conn.peerExtendedHandshake ?? await within(5000, 'extended handshake', new Promise(resolve => conn.once('extended-handshake', resolve)))
    assert.equal((ext as { v?: string }).v, 'bittorrent-protocol')

    await nextOf(conn, 'bitfield')
    assert.equal(conn.peerPieces?.get(2), true)
    assert.equal(conn.peerPieces?.count(), 1)

    conn.interested()
    await nextOf(conn, 'unchoke')
    conn.request(2, 0, 16384)
    const piece = await nextOf(conn, 'piece')
    assert.deepEqual({ index: piece.index, begin: piece.begin }, { index: 2, begin: 0 })
    assert.ok(Buffer.from(piece.block).equals(BLOCK))

    // They saw our peer id, our extension handshake; now they download from us.
    assert.equal(Buffer.from(them.peerId ?? '', 'hex').subarray(0, 8).toString(), '-bs0100-')
    assert.ok(them.peerExtensions.fast && them.peerExtensions.extended)
    const theirView = them.peerExtendedHandshake as { v?: Uint8Array, m?: Record<string, number> }
    assert.equal(Buffer.from(theirView.v ?? []).toString(), 'bt-stream 0.1.0')
    assert.equal(theirView.m?.ut_metadata, 1)
    const requested = nextOf(conn, 'request')
    them.interested()
    conn.unchoke()
    const got = within(5000, 'their request callback', new Promise<Uint8Array>((resolve, reject) => {
      them.once('unchoke', () => them.request(5, 16384, 1000, (err, block) => err !== null ? reject(err) : resolve(block)))
    }))
    const req = await within(5000, 'their request', requested)
    assert.deepEqual(req, { type: 'request', index: 5, begin: 16384, length: 1000 })
    conn.piece(5, 16384, BLOCK.subarray(0, 1000))
    assert.ok(Buffer.from(await got).equals(BLOCK.subarray(0, 1000)))
  } finally {
    conn.destroy()
    wire?.destroy()
    await server.close()
  }
})

test('interop BEP 3: bittorrent-protocol dials us; we accept the info hash it asks for and serve a block', async () => {
  const accepted: string[] = []
  let conn: PeerConnection | undefined
  const server = await listen((socket) => {
    acceptPeer(socket, {
      pieceCount: PIECES,
      have: BitField.full(PIECES),
      accept: (ih) => { accepted.push(toHex(ih)); return true }
    }).then((c) => {
      conn = c
      c.on('error', () => {})
      void (async () => {
        for await (const m of c as AsyncIterable<Message>) {
          if (m.type === 'interested') c.unchoke()
          if (m.type === 'request') c.piece(m.index, m.begin, BLOCK.subarray(0, m.length))
        }
      })().catch(() => {}) // the test's end destroys the connection under the loop
    }, () => {})
  })
  const { connect: netConnect } = await import('node:net')
  const socket = netConnect({ host: '127.0.0.1', port: server.port })
  const wire = new Wire()
  wire.on('error', () => {})
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  ;(wire as unknown as NodeJS.ReadableStream).pipe(socket)
  try {
    const handshake = new Promise(resolve => wire.once('handshake', resolve))
    const haveAll = new Promise(resolve => wire.once('have-all', resolve))
    wire.handshake(INFO_HASH, THEIR_ID, { fast: true })
    await within(5000, 'their handshake event', handshake)
    await within(5000, 'have all', haveAll)
    assert.equal(wire.peerPieces.get(PIECES - 1), true)
    wire.interested()
    await within(5000, 'unchoke', new Promise(resolve => wire.once('unchoke', resolve)))
    const block = await within(5000, 'block', new Promise<Uint8Array>((resolve, reject) => {
      wire.request(7, 0, 16384, (err, b) => err !== null ? reject(err) : resolve(b))
    }))
    assert.ok(Buffer.from(block).equals(BLOCK))
    assert.deepEqual(accepted, [INFO_HASH.toString('hex')])
  } finally {
    socket.destroy()
    conn?.destroy()
    await server.close()
  }
})
