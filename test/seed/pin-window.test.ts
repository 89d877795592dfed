import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import { MAX_CHUNKS_PINNED, PIN_WINDOW, PinWindow } from '../../lib/seed/pin-window.js'
import { ReadAhead } from '../../lib/seed/read-ahead.js'
import { Uploader, type UploadConnection } from '../../lib/seed/uploader.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { MemoryReader, torrentBytes } from './helpers.js'

const BLOCK = 16384
const PIECE = 256 * 1024

test('pin window: views of one chunk after another (a peer reading pieces in order) are all admitted', () => {
  const w = new PinWindow()
  for (let chunk = 0; chunk < 100; chunk++) {
    const bytes = new Uint8Array(PIECE)
    for (let b = 0; b < PIECE / BLOCK; b++) assert.equal(w.admit(bytes.subarray(b * BLOCK, (b + 1) * BLOCK)), true, `chunk ${chunk} block ${b}`)
  }
  assert.ok(w.changes <= Math.ceil(PIN_WINDOW / (PIECE / BLOCK)))
})

test('pin window: one block from each of many chunks: past MAX_CHUNKS_PINNED changes in the window, views are refused (the caller copies) until older ones leave the window', () => {
  const w = new PinWindow()
  const answers: boolean[] = []
  for (let i = 0; i < 3 * PIN_WINDOW; i++) answers.push(w.admit(new Uint8Array(PIECE).subarray(0, BLOCK)))
  assert.equal(answers.slice(0, MAX_CHUNKS_PINNED).every(a => a), true)
  assert.equal(answers[MAX_CHUNKS_PINNED], false)
  // Whatever the pattern, the window never counts more than the bound.
  assert.ok(w.changes <= MAX_CHUNKS_PINNED)
  assert.equal(answers.filter(a => a).length <= MAX_CHUNKS_PINNED * 3 + 3, true)
  // A block that is its whole buffer (a copy, a direct read) pins nothing else: always admitted.
  assert.equal(w.admit(new Uint8Array(BLOCK)), true)
})

/** Takes every piece and counts the distinct chunks the blocks it holds keep alive. */
class HoldingConn extends EventEmitter implements UploadConnection {
  amChoking = true
  fastEnabled = true
  held: Uint8Array[] = []
  choke (): boolean { this.amChoking = true; return true }
  unchoke (): boolean { this.amChoking = false; return true }
  piece (_index: number, _begin: number, block: Uint8Array): boolean { this.held.push(block); return true }
  reject (): boolean { return true }
  destroy (): void { this.emit('close') }
}

test('a peer asking one block of every piece keeps at most MAX_CHUNKS_PINNED + 1 read-ahead chunks alive per window of blocks; the rest are sent as copies of 16 KiB', async () => {
  const pieces = 200
  const data = torrentBytes(pieces * PIECE)
  const geometry = { pieceLength: PIECE, pieceCount: pieces, lastPieceLength: PIECE }
  // Like FileStorage: every read is a buffer of its own.
  const memory = new MemoryReader(data, PIECE)
  const storage = { read: async (i: number, b: number, l: number) => new Uint8Array(await memory.read(i, b, l)) }
  const ra = new ReadAhead(storage, geometry, { maxCached: 256, maxReading: 256 })
  for (let p = 0; p < pieces; p++) await ra.read(p, 0, BLOCK) // every chunk in memory
  const conn = new HoldingConn()
  const up = new Uploader(conn, { reader: ra, have: BitField.full(pieces), geometry })
  up.unchoke()
  for (let p = 0; p < pieces; p++) up.onMessage({ type: 'request', index: p, begin: BLOCK, length: BLOCK })
  assert.equal(conn.held.length, pieces)
  for (let at = 0; at + PIN_WINDOW <= pieces; at++) {
    const chunks = new Set(conn.held.slice(at, at + PIN_WINDOW).filter(b => b.buffer.byteLength > BLOCK).map(b => b.buffer))
    assert.ok(chunks.size <= MAX_CHUNKS_PINNED + 1, `blocks ${at}..${at + PIN_WINDOW}: ${chunks.size} chunks kept alive`)
  }
  conn.held.forEach((b, p) => assert.ok(Buffer.from(b).equals(data.subarray(p * PIECE + BLOCK, p * PIECE + 2 * BLOCK))))
})
