import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Readable, Writable, pipelinePromise } from 'streamx'
import { MessageDecoder, type DecodedFrame } from '../../lib/wire/decoder.js'
import { encodeMessage, encodedLength, MessageEncoder } from '../../lib/wire/encoder.js'
import { encodeHandshake } from '../../lib/wire/handshake.js'
import type { Message } from '../../lib/wire/messages.js'
import { EVERY_MESSAGE, HANDSHAKE, PIECES } from './fixtures.js'
import { frames, plain } from './helpers.js'

test('encoder: a piece is a 13-byte header plus the caller\'s block, never concatenated', () => {
  const block = new Uint8Array(16384)
  const e = encodeMessage({ type: 'piece', index: 1, begin: 2, block })
  assert.deepEqual(Array.from(e.head), [0, 0, 0x40, 0x09, 7, 0, 0, 0, 1, 0, 0, 0, 2])
  assert.equal(e.body, block, 'the same object: no copy')
  for (const m of EVERY_MESSAGE) {
    const x = encodeMessage(m)
    assert.equal(encodedLength(m), x.head.length + (x.body?.length ?? 0), m.type)
  }
})

test('MessageEncoder → MessageDecoder: every message through two streamx Transforms, bytes in one-byte chunks', async () => {
  const wire: Uint8Array[] = []
  await pipelinePromise(Readable.from(EVERY_MESSAGE as Message[]), new MessageEncoder(), new Writable({ write (c: unknown, cb) { wire.push(c as Uint8Array); cb(null) } }))
  const bytes = Buffer.concat(wire)
  assert.deepEqual(Array.from(bytes), Array.from(frames(EVERY_MESSAGE)))
  const pieceIndex = EVERY_MESSAGE.findIndex(m => m.type === 'piece')
  const piece = EVERY_MESSAGE[pieceIndex]
  assert.ok(piece?.type === 'piece')
  assert.ok(wire.includes(piece.block), 'the piece block left as its own chunk')

  const oneByte = Array.from(Buffer.concat([encodeHandshake(HANDSHAKE), bytes]), (b) => Uint8Array.of(b))
  const out: DecodedFrame[] = []
  await pipelinePromise(Readable.from(oneByte), new MessageDecoder({ pieceCount: PIECES }), new Writable({ write (f: unknown, cb) { out.push(f as DecodedFrame); cb(null) } }))
  assert.deepEqual(plain(out), plain([{ type: 'handshake', handshake: HANDSHAKE }, ...EVERY_MESSAGE]))
})

test('MessageDecoder: a bound violation destroys the stream with a ProtocolError', async () => {
  const decoder = new MessageDecoder({ pieceCount: PIECES, handshake: false })
  const err = await new Promise<Error>((resolve) => {
    decoder.on('error', resolve)
    decoder.write(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))
  })
  assert.equal(err.name, 'ProtocolError')
})
