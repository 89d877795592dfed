import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { filesInPiece, filesInRange, pieceHash, pieceLengthAt, pieceOffset, piecesForFile, piecesForRange } from '../../lib/metainfo/geometry.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { FIXTURES, fixture } from '../helpers.js'

/** The torrent's byte stream rebuilt from fixtures/data (padding files are zeros, BEP 47). */
function byteStream (m: Metainfo): Buffer {
  return Buffer.concat(m.files.map(f => f.padding ? Buffer.alloc(f.length) : readFileSync(new URL(`data/${f.path}`, FIXTURES))))
}

test('BEP 3: every piece of the real data hashes to pieceHash(index), using pieceLengthAt', () => {
  for (const name of ['single', 'multi', 'hybrid', 'tiny']) {
    const m = parseTorrent(fixture(`${name}.torrent`))
    const data = byteStream(m)
    assert.equal(data.length, m.length)
    for (let i = 0; i < m.pieceCount; i++) {
      const piece = data.subarray(pieceOffset(m, i), pieceOffset(m, i) + pieceLengthAt(m, i))
      assert.deepEqual(new Uint8Array(createHash('sha1').update(piece).digest()), new Uint8Array(pieceHash(m, i)), `${name} piece ${i}`)
    }
  }
})

test('pieceLengthAt: full pieces, a short last piece, and a range check', () => {
  const m = parseTorrent(fixture('single.torrent'))
  assert.deepEqual([0, 1, 2, 3].map(i => pieceLengthAt(m, i)), [32768, 32768, 32768, 1696])
  assert.throws(() => pieceLengthAt(m, 4), RangeError)
  assert.throws(() => pieceLengthAt(m, -1), RangeError)
})

test('pieceHash is a view into pieceHashes, not a copy', () => {
  const m = parseTorrent(fixture('single.torrent'))
  const h = pieceHash(m, 2)
  assert.equal(h.buffer, m.pieceHashes.buffer)
  assert.equal(h.byteOffset, m.pieceHashes.byteOffset + 40)
  assert.equal(h.length, 20)
})

test('piecesForFile: first/last piece and the offsets inside them (multi.torrent, 32 KiB pieces)', () => {
  const m = parseTorrent(fixture('multi.torrent'))
  // track01 [0, 40000), track02 [40000, 40017), notes [40017, 40257), empty, cover [40257, 70257)
  assert.deepEqual(piecesForFile(m, 0), { first: 0, last: 1, startOffsetInFirst: 0, endOffsetInLast: 40000 - 32768 })
  assert.deepEqual(piecesForFile(m, 1), { first: 1, last: 1, startOffsetInFirst: 40000 - 32768, endOffsetInLast: 40017 - 32768 })
  assert.deepEqual(piecesForFile(m, 4), { first: 1, last: 2, startOffsetInFirst: 40257 - 32768, endOffsetInLast: 70257 - 65536 })
  assert.equal(piecesForFile(m, 3), undefined) // the empty file occupies no piece
  assert.throws(() => piecesForFile(m, 5), RangeError)
})

test('piecesForRange: an exact piece boundary does not spill into the next piece', () => {
  const m = parseTorrent(fixture('single.torrent'))
  assert.deepEqual(piecesForRange(m, 0, 32768), { first: 0, last: 0, startOffsetInFirst: 0, endOffsetInLast: 32768 })
  assert.deepEqual(piecesForRange(m, 32768, 32769), { first: 1, last: 1, startOffsetInFirst: 0, endOffsetInLast: 1 })
  assert.equal(piecesForRange(m, 5, 5), undefined)
  assert.throws(() => piecesForRange(m, 0, m.length + 1), RangeError)
})

test('filesInRange / filesInPiece: which file bytes a range or piece covers, empty files skipped', () => {
  const m = parseTorrent(fixture('multi.torrent'))
  assert.deepEqual(filesInPiece(m, 1), [
    { fileIndex: 0, fileOffset: 32768, length: 40000 - 32768 },
    { fileIndex: 1, fileOffset: 0, length: 17 },
    { fileIndex: 2, fileOffset: 0, length: 240 },
    { fileIndex: 4, fileOffset: 0, length: 65536 - 40257 }
  ])
  assert.deepEqual(filesInRange(m, 40010, 40020), [{ fileIndex: 1, fileOffset: 10, length: 7 }, { fileIndex: 2, fileOffset: 0, length: 3 }])
  assert.deepEqual(filesInRange(m, 7, 7), [])
  // Every piece's slices add up to the piece length.
  for (let i = 0; i < m.pieceCount; i++) {
    assert.equal(filesInPiece(m, i).reduce((s, f) => s + f.length, 0), pieceLengthAt(m, i))
  }
})
