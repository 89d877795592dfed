import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError } from '../../lib/util/errors.js'
import { encodeHandshake } from '../../lib/wire/handshake.js'
import type { Message } from '../../lib/wire/messages.js'
import { WireParser } from '../../lib/wire/parser.js'
import { EVERY_MESSAGE, HANDSHAKE, PIECES } from './fixtures.js'
import { frames, plain, prng } from './helpers.js'

/** The parser's largest length prefix for these limits: 16 KiB block + 13 header bytes. */
const MAX_FRAME = 16384 + 13
const SEEDS = 300

function randomMessage (rnd: () => number): Message {
  const pick = EVERY_MESSAGE[Math.floor(rnd() * EVERY_MESSAGE.length)] as Message
  if (pick.type === 'piece') return { ...pick, block: new Uint8Array(1 + Math.floor(rnd() * 16384)).fill(Math.floor(rnd() * 256)) }
  return pick
}

/** Feeds `bytes` in random chunks; checks the parser's contract on whatever comes out. */
function feed (bytes: Uint8Array, rnd: () => number): { messages: Message[], errors: ProtocolError[] } {
  const messages: Message[] = []
  const errors: ProtocolError[] = []
  const chunks = new Set<ArrayBufferLike>()
  const parser = new WireParser({
    message: (m) => {
      assert.equal(errors.length, 0, 'no message after an error')
      messages.push(m)
      const payload = m.type === 'piece' ? m.block : m.type === 'bitfield' ? m.bitfield : m.type === 'extended' || m.type === 'unknown' ? m.payload : undefined
      // Either a view into a received chunk, or a buffer the parser allocated: never beyond the bound.
      if (payload !== undefined && !chunks.has(payload.buffer)) assert.ok(payload.buffer.byteLength <= MAX_FRAME, `allocated ${payload.buffer.byteLength} bytes`)
    },
    error: (e) => { errors.push(e) }
  }, { pieceCount: PIECES, maxExtendedLength: 16384, handshake: false })
  let off = 0
  while (off < bytes.length) {
    const n = 1 + Math.floor(rnd() * Math.min(70_000, bytes.length - off))
    const chunk = bytes.slice(off, off + n) // a fresh buffer, like a socket read
    chunks.add(chunk.buffer)
    parser.write(chunk)
    off += n
  }
  assert.ok(errors.length <= 1, 'at most one error')
  return { messages, errors }
}

test('fuzz (seeded): valid message streams in random chunkings parse exactly as written', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rnd = prng(seed)
    const sent = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => randomMessage(rnd))
    const { messages, errors } = feed(frames(sent), rnd)
    assert.deepEqual(errors, [], `seed ${seed}`)
    assert.deepEqual(plain(messages), plain(sent), `seed ${seed}`)
  }
})

test('fuzz (seeded): mutated frames never throw, stop at the first error, and allocate within the bound', () => {
  let errored = 0
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rnd = prng(seed)
    const bytes = frames(Array.from({ length: 1 + Math.floor(rnd() * 10) }, () => randomMessage(rnd)))
    const flips = 1 + Math.floor(rnd() * 4)
    for (let i = 0; i < flips; i++) {
      // Favour the headers, where a mutation changes lengths and ids.
      const at = rnd() < 0.5 ? Math.floor(rnd() * Math.min(bytes.length, 32)) : Math.floor(rnd() * bytes.length)
      bytes[at] = Math.floor(rnd() * 256)
    }
    const { errors } = feed(bytes, rnd)
    if (errors.length > 0) errored++
  }
  assert.ok(errored > 0, 'some mutations are caught')
})

test('fuzz (seeded): random garbage after a valid handshake, and garbage as a handshake', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rnd = prng(1000 + seed)
    const garbage = Uint8Array.from({ length: Math.floor(rnd() * 4096) }, () => Math.floor(rnd() * 256))
    for (const bytes of [Buffer.concat([encodeHandshake(HANDSHAKE), garbage]), garbage]) {
      let errors = 0
      const parser = new WireParser({ message: () => { assert.equal(errors, 0) }, error: () => { errors++ } }, { pieceCount: PIECES })
      let off = 0
      while (off < bytes.length) {
        const n = 1 + Math.floor(rnd() * 300)
        parser.write(bytes.subarray(off, off + n))
        off += n
      }
      assert.ok(errors <= 1)
    }
  }
})

test('fuzz (seeded): a PeerConnection fed mutated frames either stays up or closes with a ProtocolError', async () => {
  const { Duplex } = await import('node:stream')
  const { PeerConnection } = await import('../../lib/wire/peer-connection.js')
  const infoHash = HANDSHAKE.infoHash
  let closedByProtocol = 0
  for (let seed = 1; seed <= 100; seed++) {
    const rnd = prng(5000 + seed)
    const socket = new Duplex({ read () {}, write (_c, _e, cb) { cb() } })
    const conn = new PeerConnection(socket, { infoHash, pieceCount: PIECES, handshakeTimeout: 5000 })
    let error: Error | undefined
    conn.on('error', (e) => { error = e })
    conn.resume()
    const bytes = frames(Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => randomMessage(rnd)))
    for (let i = 0; i < 3; i++) bytes[Math.floor(rnd() * Math.min(bytes.length, 40))] = Math.floor(rnd() * 256)
    const all = Buffer.concat([encodeHandshake({ ...HANDSHAKE, peerId: new Uint8Array(20).fill(seed) }), bytes])
    for (let off = 0; off < all.length;) {
      const n = 1 + Math.floor(rnd() * 5000)
      socket.push(all.subarray(off, off + n))
      off += n
    }
    await new Promise(resolve => setImmediate(resolve))
    await new Promise(resolve => setImmediate(resolve))
    if (error !== undefined) {
      assert.equal(error.name, 'ProtocolError', `seed ${seed}: ${error.message}`)
      closedByProtocol++
    }
    conn.destroy()
  }
  assert.ok(closedByProtocol > 0)
})
