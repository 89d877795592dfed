import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError } from '../../lib/util/errors.js'
import { encodeHandshake, type Handshake } from '../../lib/wire/handshake.js'
import type { Message } from '../../lib/wire/messages.js'
import { WireParser, type ParserOptions } from '../../lib/wire/parser.js'
import { EVERY_MESSAGE, HANDSHAKE, PIECES } from './fixtures.js'
import { frames, plain } from './helpers.js'


interface Collected { handshakes: Handshake[], messages: Message[], errors: ProtocolError[] }

function collector (opts: ParserOptions = { pieceCount: PIECES }): { parser: WireParser, out: Collected } {
  const out: Collected = { handshakes: [], messages: [], errors: [] }
  const parser = new WireParser({
    handshake: (h) => out.handshakes.push(h),
    message: (m) => out.messages.push(m),
    error: (e) => out.errors.push(e)
  }, opts)
  return { parser, out }
}

test('BEP 3: every message type round-trips through the encoder and the parser', () => {
  for (const m of EVERY_MESSAGE) {
    const { parser, out } = collector({ pieceCount: PIECES, handshake: false })
    parser.write(frames([m]))
    assert.deepEqual(out.errors, [])
    assert.deepEqual(plain(out.messages), plain([m]), m.type)
  }
})

test('BEP 3: handshake then messages, split at every byte boundary, gives the same result', () => {
  const stream = Buffer.concat([encodeHandshake(HANDSHAKE), frames(EVERY_MESSAGE)])
  const whole = collector()
  whole.parser.write(stream)
  assert.equal(whole.out.handshakes.length, 1)
  assert.deepEqual(plain(whole.out.handshakes[0]), plain(HANDSHAKE))
  assert.deepEqual(plain(whole.out.messages), plain(EVERY_MESSAGE))
  for (let cut = 1; cut < stream.length; cut++) {
    const { parser, out } = collector()
    parser.write(stream.subarray(0, cut))
    parser.write(stream.subarray(cut))
    assert.deepEqual(out.errors, [], `cut at ${cut}`)
    assert.deepEqual(plain(out.handshakes), plain(whole.out.handshakes), `cut at ${cut}`)
    assert.deepEqual(plain(out.messages), plain(EVERY_MESSAGE), `cut at ${cut}`)
  }
})

test('BEP 3: one byte per chunk and three-way splits parse the same', () => {
  const stream = Buffer.concat([encodeHandshake(HANDSHAKE), frames(EVERY_MESSAGE)])
  const bytewise = collector()
  for (let i = 0; i < stream.length; i++) bytewise.parser.write(stream.subarray(i, i + 1))
  assert.deepEqual(plain(bytewise.out.messages), plain(EVERY_MESSAGE))
  for (let i = 1; i < stream.length; i += 7) {
    for (let j = i + 1; j < stream.length; j += 11) {
      const { parser, out } = collector()
      parser.write(stream.subarray(0, i))
      parser.write(stream.subarray(i, j))
      parser.write(stream.subarray(j))
      assert.deepEqual(plain(out.messages), plain(EVERY_MESSAGE), `cuts at ${i}, ${j}`)
    }
  }
})

test('zero-copy: a piece that arrives whole is a view into the received chunk', () => {
  const block = new Uint8Array(16384).fill(7)
  const chunk = frames([{ type: 'have', index: 1 }, { type: 'piece', index: 2, begin: 0, block }, { type: 'keepAlive' }])
  const { parser, out } = collector({ pieceCount: PIECES, handshake: false })
  parser.write(chunk)
  const piece = out.messages[1]
  assert.ok(piece?.type === 'piece')
  assert.equal(piece.block.buffer, chunk.buffer, 'same ArrayBuffer: no copy')
  assert.equal(piece.block.byteOffset, chunk.byteOffset + 9 + 13)
  assert.equal(piece.block.length, 16384)
})

test('a lent chunk (writeBorrowed, one reused read buffer): every payload a handler may keep is its own copy; only the piece block is a view, valid during the call', () => {
  const messages: Message[] = [
    { type: 'bitfield', bitfield: Uint8Array.from({ length: Math.ceil(PIECES / 8) }, (_, i) => i === 0 ? 0xa5 : 0) },
    { type: 'extended', id: 3, payload: Uint8Array.from([9, 8, 7]) },
    { type: 'piece', index: 2, begin: 0, block: Uint8Array.from([1, 2, 3, 4]) },
    { type: 'unknown', id: 42, payload: Uint8Array.from([5, 5]) }
  ]
  const bytes = frames(messages)
  const seenBlock: number[] = []
  const out: Message[] = []
  const parser = new WireParser({
    // The engine's way: copy the block while the call lasts.
    message: (m) => { out.push(m); if (m.type === 'piece') seenBlock.push(...m.block) },
    error: (e) => { throw e }
  }, { pieceCount: PIECES, handshake: false })
  // Split so the unknown message straddles: its tail is held past the call.
  parser.writeBorrowed(bytes.subarray(0, bytes.length - 1))
  bytes.fill(0xee, 0, bytes.length - 1) // the read buffer is reused for the next read
  parser.writeBorrowed(bytes.subarray(bytes.length - 1))
  assert.deepEqual(seenBlock, [1, 2, 3, 4])
  assert.deepEqual(plain(out.filter(m => m.type !== 'piece')), plain(messages.filter(m => m.type !== 'piece')))
})

test('lent reads: pieces straddling reads are assembled in one reused buffer, each whole while its handler runs', () => {
  const blocks = [Uint8Array.from({ length: 100 }, (_, i) => i), Uint8Array.from({ length: 100 }, (_, i) => 255 - i)]
  const bytes = frames(blocks.map((block, i) => ({ type: 'piece', index: i, begin: 0, block })))
  const seen: number[][] = []
  const buffers = new Set<ArrayBufferLike>()
  const parser = new WireParser({
    message: (m) => { if (m.type === 'piece') { seen.push([...m.block]); buffers.add(m.block.buffer) } },
    error: (e) => { throw e }
  }, { pieceCount: PIECES, handshake: false })
  // Each piece message is 113 bytes: cut every one in the middle, the read buffer reused between.
  const read = new Uint8Array(60)
  for (let at = 0; at < bytes.length; at += 60) {
    const n = Math.min(60, bytes.length - at)
    read.set(bytes.subarray(at, at + n))
    parser.writeBorrowed(read.subarray(0, n))
    read.fill(0xee)
  }
  assert.deepEqual(seen, blocks.map(b => [...b]))
  assert.equal(buffers.size, 1, 'both straddling blocks came from the same reused buffer')
  assert.ok(!buffers.has(read.buffer))
})

test('a piece straddling chunks is assembled into its own buffer of exactly its size', () => {
  const block = new Uint8Array(16384).fill(9)
  const chunk = frames([{ type: 'piece', index: 2, begin: 0, block }])
  const { parser, out } = collector({ pieceCount: PIECES, handshake: false })
  parser.write(chunk.subarray(0, 1000))
  parser.write(chunk.subarray(1000))
  const piece = out.messages[0]
  assert.ok(piece?.type === 'piece')
  assert.notEqual(piece.block.buffer, chunk.buffer)
  assert.equal(piece.block.buffer.byteLength, 16384 + 8)
  assert.deepEqual(piece.block, block)
})

test('pausing after the handshake holds later bytes in order until resume', () => {
  const stream = Buffer.concat([encodeHandshake(HANDSHAKE), frames(EVERY_MESSAGE)])
  const out: Message[] = []
  const parser: WireParser = new WireParser({
    handshake: () => { parser.pause() },
    message: (m) => out.push(m),
    error: (e) => { throw e }
  }, { pieceCount: PIECES })
  parser.write(stream.subarray(0, 80))
  parser.write(stream.subarray(80, 90))
  parser.write(stream.subarray(90))
  assert.equal(out.length, 0)
  parser.resume()
  assert.deepEqual(plain(out), plain(EVERY_MESSAGE))
})

function rejects (bytes: Uint8Array, opts: ParserOptions, pattern: RegExp): void {
  const { parser, out } = collector({ handshake: false, ...opts })
  parser.write(bytes)
  assert.equal(out.errors.length, 1, `expected one error matching ${String(pattern)}`)
  assert.ok(out.errors[0] instanceof ProtocolError)
  assert.match(out.errors[0].message, pattern)
  parser.write(frames([{ type: 'choke' }]))
  assert.equal(out.errors.length, 1, 'dead after the first error')
}

test('hostile: a length prefix above the bound is refused from the 4 prefix bytes alone', () => {
  // Only the prefix is sent: the parser must refuse before any body arrives or is allocated.
  rejects(Uint8Array.from([0x7f, 0xff, 0xff, 0xff]), { pieceCount: PIECES }, /exceeds the bound/)
  rejects(Uint8Array.from([0, 0x11, 0, 3]), { pieceCount: PIECES }, /exceeds the bound/)
})

test('hostile: per-type bounds are checked on the id byte, before the body', () => {
  // piece with a 16 KiB + 1 block: length 9 + 16385
  rejects(Uint8Array.from([0, 0, 0x40, 0x0a, 7]), { pieceCount: PIECES }, /id 7 with length 16394/)
  // bitfield of the wrong size for 100 pieces (13 bytes expected)
  rejects(Uint8Array.from([0, 0, 0, 15, 5]), { pieceCount: PIECES }, /id 5 with length 15/)
  // have with a 1-byte payload; choke with a payload
  rejects(Uint8Array.from([0, 0, 0, 2, 4, 0]), { pieceCount: PIECES }, /id 4 with length 2/)
  rejects(Uint8Array.from([0, 0, 0, 2, 0, 0]), { pieceCount: PIECES }, /id 0 with length 2/)
  // extended above the configured bound
  rejects(Uint8Array.from([0, 0, 4, 3, 20]), { pieceCount: PIECES, maxExtendedLength: 1024 }, /id 20 with length 1027, allowed 2..1026/)
})

test('BEP 3: spare bits set in a bitfield are a protocol error', () => {
  const bf = new Uint8Array(13)
  bf[12] = 0x08 // bit 100, past the last piece 99
  rejects(frames([{ type: 'bitfield', bitfield: bf }]), { pieceCount: PIECES }, /spare bits/)
})

test('hostile: have / request / piece for a piece past the last one', () => {
  rejects(frames([{ type: 'have', index: PIECES }]), { pieceCount: PIECES }, /piece 100, past the last piece 99/)
  rejects(frames([{ type: 'request', index: PIECES, begin: 0, length: 16384 }]), { pieceCount: PIECES }, /piece 100/)
  rejects(frames([{ type: 'piece', index: 1000, begin: 0, block: new Uint8Array(1) }]), { pieceCount: PIECES }, /piece 1000/)
})

test('BEP 3: a request for more than 16 KiB, or for 0 bytes, is a protocol error', () => {
  rejects(frames([{ type: 'request', index: 1, begin: 0, length: 16385 }]), { pieceCount: PIECES }, /block of 16385 bytes/)
  rejects(frames([{ type: 'request', index: 1, begin: 0, length: 0 }]), { pieceCount: PIECES }, /block of 0 bytes/)
})

test('BEP 3: unknown message ids are surfaced as "unknown" and parsing goes on', () => {
  const { parser, out } = collector({ pieceCount: PIECES, handshake: false })
  parser.write(frames([{ type: 'unknown', id: 200, payload: Uint8Array.from([1]) }, { type: 'unchoke' }]))
  assert.deepEqual(plain(out.messages), plain([{ type: 'unknown', id: 200, payload: [1] }, { type: 'unchoke' }]))
})

test('unknown piece count: bounds fall back to the documented cap, then tighten', () => {
  const { parser, out } = collector({ handshake: false })
  parser.write(frames([{ type: 'bitfield', bitfield: new Uint8Array(1000) }, { type: 'have', index: 3_000_000 }]))
  assert.equal(out.errors.length, 0)
  parser.setPieceCount(10)
  parser.write(frames([{ type: 'have', index: 10 }]))
  assert.match(out.errors[0]?.message ?? '', /piece 10, past the last piece 9/)
})

test('BEP 3: a handshake with another protocol string is refused', () => {
  const bad = encodeHandshake(HANDSHAKE)
  bad[1] = 0x62 // 'b'
  const { parser, out } = collector()
  parser.write(bad)
  assert.match(out.errors[0]?.message ?? '', /not a BitTorrent handshake/)
})

test('BEP 52: hash request / hash reject are exactly 49 bytes; hashes carries a 512-hash piece layer answer (over the bound for unknown ids)', () => {
  const hashes = Buffer.alloc(5 + 48 + 512 * 32)
  hashes.writeUInt32BE(1 + 48 + 512 * 32, 0)
  hashes[4] = 22
  const { parser, out } = collector({ handshake: false, pieceCount: PIECES })
  parser.write(hashes)
  assert.equal(out.errors.length, 0)
  assert.deepEqual(out.messages.map(m => m.type === 'unknown' ? m.id : m.type), [22], 'surfaced for the v2 code to decode')
  const shortRequest = Buffer.alloc(5 + 47)
  shortRequest.writeUInt32BE(48, 0)
  shortRequest[4] = 21
  rejects(shortRequest, { pieceCount: PIECES }, /id 21 with length 48, allowed 49..49/)
})
