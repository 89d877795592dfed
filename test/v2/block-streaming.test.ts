/**
 * BEP 52 block streaming to stdout: each 16 KiB block of the head piece is verified alone against
 * the merkle tree and leaves before its piece is whole; a bad block names its sender before it is
 * stored; without block hashes (a reject) the piece is verified whole, as before.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTorrent } from '../../lib/metainfo/create.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { download } from '../../lib/session/download.js'
import { BlockStreamer, type BlockSource } from '../../lib/v2/block-streamer.js'
import { V2PieceVerifier } from '../../lib/v2/piece-verifier.js'
import { decodeHashRequest, encodeHashes, encodeHashReject, HashMessageId } from '../../lib/wire/hash-messages.js'
import { collect } from '../helpers.js'
import { seededBytes } from '../swarm/fixture-torrent.js'
import { startBlockSeeder } from './block-seeder.js'
import { naiveTree } from './helpers.js'

const PIECE = 256 * 1024
const BLOCKS_PER_PIECE = PIECE / 16384

async function v2Torrent (t: { after: (fn: () => void) => void }, length: number): Promise<{ meta: Metainfo, data: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-blocks-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const data = seededBytes(length, 16)
  writeFileSync(join(dir, 'file.bin'), data)
  const { meta } = await createTorrent(join(dir, 'file.bin'), { pieceLength: PIECE, version: 'v2', creationDate: null })
  return { meta, data }
}

const opts = (ports: number[]): Parameters<typeof download>[1] =>
  ({ peers: ports.map(port => ({ host: '127.0.0.1', port })), trackers: false, webSeeds: false, utp: 'off', stallTimeoutMs: 30_000 })

test('BEP 52 block streaming: the first bytes reach stdout before the first piece is whole (its last block is held back until they do); output byte-identical', async t => {
  const { meta, data } = await v2Torrent(t, 5 * PIECE + 1234)
  let release!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  t.after(() => release())
  const lastBlock = (BLOCKS_PER_PIECE - 1) * 16384
  const seeder = await startBlockSeeder(meta, data, { hashes: 'answer', hold: { index: 0, begin: lastBlock, release: released } })
  t.after(() => seeder.close())
  const stream = download(meta, opts([seeder.port]))
  t.after(() => stream.destroy())
  const parts: Buffer[] = []
  let sentAtFirstByte = -1
  const first = new Promise<void>(resolve => {
    stream.on('data', (c: Uint8Array) => {
      if (parts.length === 0) { sentAtFirstByte = seeder.sentOf(0); resolve() }
      parts.push(Buffer.from(c))
    })
  })
  // Without block streaming the first byte needs the held block: this would wait for ever.
  const timeout = new Promise<'timeout'>(resolve => setTimeout(() => resolve('timeout'), 20_000).unref())
  assert.notEqual(await Promise.race([first, timeout]), 'timeout', 'a byte arrived while the first piece lacked its last block')
  assert.ok(sentAtFirstByte < BLOCKS_PER_PIECE, `first byte after ${sentAtFirstByte} of ${BLOCKS_PER_PIECE} blocks of piece 0`)
  assert.ok(parts[0]!.equals(data.subarray(0, parts[0]!.length)), 'the first bytes are the file\'s')
  release()
  await new Promise<void>((resolve, reject) => { stream.on('end', resolve); stream.on('error', reject) })
  assert.ok(Buffer.concat(parts).equals(data), 'byte-identical, no byte twice')
  assert.ok(seeder.hashRequests() >= 1)
})

test('BEP 52 block streaming: a peer that rejects block-hash requests still streams byte-identical, pieces verified whole (fallback)', async t => {
  const { meta, data } = await v2Torrent(t, 3 * PIECE + 99)
  const seeder = await startBlockSeeder(meta, data, { hashes: 'reject' })
  t.after(() => seeder.close())
  const stream = download(meta, opts([seeder.port]))
  const banned: string[] = []
  stream.on('peer-banned', (_a, why) => banned.push(why))
  const out = await collect(stream)
  assert.ok(out.equals(data))
  assert.ok(seeder.hashRequests() >= 1, 'block hashes were asked for')
  assert.deepEqual(banned, [])
})

test('BEP 52 block streaming: a peer sending a corrupt block of the head piece is banned for that block exactly; the honest peer never; output exact', async t => {
  const { meta, data } = await v2Torrent(t, 4 * PIECE + 5)
  const honest = await startBlockSeeder(meta, data, { hashes: 'answer' })
  const corrupt = await startBlockSeeder(meta, data, { hashes: 'answer', corrupt: i => i === 0, pieces: 1 })
  t.after(async () => { await honest.close(); await corrupt.close() })
  const stream = download(meta, opts([corrupt.port, honest.port]))
  const banned: string[] = []
  stream.on('peer-banned', (addr, why) => banned.push(`${addr.port} ${why}`))
  const out = await collect(stream)
  assert.ok(out.equals(data))
  assert.ok(!banned.some(b => b.startsWith(`${honest.port} `)), banned.join('; '))
  if (corrupt.sentOf(0) > 0) {
    assert.ok(banned.some(b => b.startsWith(`${corrupt.port} `) && /block \d+ of piece 0, which failed its BEP 52 block hash/.test(b)), banned.join('; '))
  }
})

/** A fake engine around one BlockStreamer: peers are strings, one piece being downloaded. */
function harness (meta: Metainfo, data: Buffer): {
  streamer: BlockStreamer<{ name: string }>
  piece: { index: number, length: number, buffer: Buffer, state: Uint8Array }
  written: { type: 'unknown', id: number, payload: Uint8Array }[]
  blamed: string[]
  prefixes: number[]
} {
  const written: { type: 'unknown', id: number, payload: Uint8Array }[] = []
  const blamed: string[] = []
  const prefixes: number[] = []
  const piece = { index: 0, length: PIECE, buffer: Buffer.alloc(PIECE), state: new Uint8Array(BLOCKS_PER_PIECE) }
  const conn = { write: (m: { type: 'unknown', id: number, payload: Uint8Array }) => written.push(m) }
  const streamer = new BlockStreamer<{ name: string }>(new V2PieceVerifier(meta), { writePrefix: (_i, _p, end) => prefixes.push(end) }, 0, {
    connectionOf: () => conn,
    activePiece: i => i === 0 ? piece as BlockSource : undefined,
    blame: (p, why) => blamed.push(`${p.name}: ${why}`)
  })
  void data
  return { streamer, piece, written, blamed, prefixes }
}

function answerFor (data: Buffer, payload: Uint8Array): Uint8Array {
  const r = decodeHashRequest(payload)
  const leaves = naiveTree(data)[0] as Buffer[]
  return encodeHashes({ ...r, hashes: leaves.slice(r.index, r.index + r.length), uncles: [] })
}

test('BEP 52 block streaming (unit): with the block hashes known, a bad block is refused before it is stored and its sender named; good blocks extend the prefix in order', async t => {
  const { meta, data } = await v2Torrent(t, 2 * PIECE)
  const h = harness(meta, data)
  const a = { name: 'a' }
  const b = { name: 'b' }
  h.streamer.willRequest(a, [{ index: 0 }, { index: 0 }, { index: 1 }], 0)
  assert.equal(h.written.length, 2, 'one block-hash request for each head piece')
  assert.equal(h.written[0]!.id, HashMessageId.hashRequest)
  assert.equal(h.streamer.onMessage(a, HashMessageId.hashes, answerFor(data, h.written[0]!.payload)), true)
  const block = (i: number): Buffer => data.subarray(i * 16384, (i + 1) * 16384)
  const store = (i: number): void => { h.piece.buffer.set(block(i), i * 16384); h.piece.state[i] = 2 }
  // Block 1 first: verified, but the prefix waits for block 0.
  assert.equal(h.streamer.check(a, 0, 16384, block(1)), 'good')
  store(1); h.streamer.stored(0, 16384, 'good')
  assert.deepEqual(h.prefixes, [])
  const bad = Buffer.from(block(0)); bad[7] = bad[7]! ^ 1
  assert.equal(h.streamer.check(b, 0, 0, bad), 'bad')
  assert.deepEqual(h.blamed, ['b: sent block 0 of piece 0, which failed its BEP 52 block hash'])
  assert.equal(h.streamer.check(a, 0, 0, block(0)), 'good')
  store(0); h.streamer.stored(0, 0, 'good')
  assert.deepEqual(h.prefixes, [2 * 16384])
})

test('BEP 52 block streaming (unit): blocks stored before the hashes came are checked when they come; a reject lets another peer be asked; lying hashes blame their sender', async t => {
  const { meta, data } = await v2Torrent(t, 2 * PIECE)
  const h = harness(meta, data)
  const a = { name: 'a' }
  const b = { name: 'b' }
  const c = { name: 'c' }
  h.piece.buffer.set(data.subarray(0, 3 * 16384)); h.piece.state.fill(2, 0, 3)
  h.streamer.willRequest(a, [{ index: 0 }], 0)
  assert.equal(h.streamer.onMessage(a, HashMessageId.hashReject, encodeHashReject(decodeHashRequest(h.written[0]!.payload))), true)
  h.streamer.willRequest(a, [{ index: 0 }], 1)
  assert.equal(h.written.length, 1, 'a peer that rejected is not asked again')
  h.streamer.willRequest(b, [{ index: 0 }], 2)
  assert.equal(h.written.length, 2)
  const lie = Buffer.from(answerFor(data, h.written[1]!.payload)); lie[lie.length - 1] = lie[lie.length - 1]! ^ 1
  assert.equal(h.streamer.onMessage(b, HashMessageId.hashes, lie), true)
  assert.deepEqual(h.blamed, ['b: sent block hashes of piece 0 that do not hash up to its piece hash (BEP 52)'])
  h.streamer.willRequest(c, [{ index: 0 }], 3)
  assert.equal(h.written.length, 2, 'two asks a piece at most: then it is verified whole')
  assert.deepEqual(h.prefixes, [])
  // A fresh streamer: the answer arrives after three blocks were stored.
  const h2 = harness(meta, data)
  h2.piece.buffer.set(data.subarray(0, 3 * 16384)); h2.piece.state.fill(2, 0, 3)
  h2.streamer.willRequest(a, [{ index: 0 }], 0)
  h2.streamer.onMessage(a, HashMessageId.hashes, answerFor(data, h2.written[0]!.payload))
  assert.deepEqual(h2.prefixes, [3 * 16384])
})

test('BEP 52 block streaming with a byte range starting inside a piece: the range\'s first bytes leave before that piece is whole; exact bytes', async t => {
  const { meta, data } = await v2Torrent(t, 4 * PIECE + 77)
  let release!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  t.after(() => release())
  const seeder = await startBlockSeeder(meta, data, { hashes: 'answer', hold: { index: 1, begin: (BLOCKS_PER_PIECE - 1) * 16384, release: released } })
  t.after(() => seeder.close())
  const start = PIECE + 40_000
  const end = 3 * PIECE + 10
  const stream = download(meta, { ...opts([seeder.port]), range: { start, end } })
  t.after(() => stream.destroy())
  const parts: Buffer[] = []
  const first = new Promise<void>(resolve => stream.on('data', (c: Uint8Array) => { parts.push(Buffer.from(c)); resolve() }))
  const timeout = new Promise<'timeout'>(resolve => setTimeout(() => resolve('timeout'), 20_000).unref())
  assert.notEqual(await Promise.race([first, timeout]), 'timeout', 'a byte arrived while piece 1 lacked its last block')
  release()
  await new Promise<void>((resolve, reject) => { stream.on('end', resolve); stream.on('error', reject) })
  assert.ok(Buffer.concat(parts).equals(data.subarray(start, end)))
})

test('BEP 52 block streaming (unit): a bad block stored before the hashes came stops the prefix there; when the piece fails, its sender is named from the hashes held, nobody asked', async t => {
  const { meta, data } = await v2Torrent(t, 2 * PIECE)
  const h = harness(meta, data)
  const a = { name: 'a' }
  const b = { name: 'b' }
  h.piece.buffer.set(data.subarray(0, PIECE))
  h.piece.buffer[2 * 16384 + 5] = h.piece.buffer[2 * 16384 + 5]! ^ 1
  h.piece.state.fill(2, 0, 4)
  h.streamer.willRequest(a, [{ index: 0 }], 0)
  h.streamer.onMessage(a, HashMessageId.hashes, answerFor(data, h.written[0]!.payload))
  assert.deepEqual(h.prefixes, [2 * 16384], 'blocks 0 and 1 out; block 2 is bad')
  const senders = Array.from({ length: BLOCKS_PER_PIECE }, (_, i) => i === 2 ? b : a)
  assert.equal(h.streamer.pieceFailed({ index: 0, buffer: h.piece.buffer, senders }), true)
  assert.deepEqual(h.blamed, ['b: sent block 2 of piece 0, which failed its BEP 52 block hash'])
  assert.equal(h.written.length, 1, 'no second hash request')
  assert.equal(h.streamer.pieceFailed({ index: 1, buffer: h.piece.buffer, senders }), false, 'no hashes held for piece 1: BlockBlame asks')
})
