import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTorrent } from '../../lib/metainfo/create.js'
import { parseInfoDict, parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { REPLY_BACKLOG_CAP } from '../../lib/seed/reply-gate.js'
import { HashResponder, type RawWireMessage } from '../../lib/v2/hash-responder.js'
import { PIECE_HASHES_PER_REQUEST } from '../../lib/v2/hash-requester.js'
import { V2PieceVerifier } from '../../lib/v2/piece-verifier.js'
import { decodeHashes, decodeHashRequest, encodeHashRequest, HashMessageId, type HashesMessage } from '../../lib/wire/hash-messages.js'
import { benc, dict, naiveTree, v2Expected, v2Fixture } from './helpers.js'

const allow = { allowV2Only: true }

/** A v2 torrent of one 600-piece file (16 KiB pieces: more than one 512-hash request). */
async function bigTorrent (t: { after: (fn: () => void) => void }): Promise<{ meta: Metainfo, data: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-hashes-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const data = Buffer.alloc(600 * 16384 - 1000)
  for (let i = 0; i < data.length; i += 32) createHash('sha256').update(String(i)).digest().copy(data, i)
  writeFileSync(join(dir, 'big.bin'), data)
  const { torrent } = await createTorrent(join(dir, 'big.bin'), { pieceLength: 16384, version: 'v2', creationDate: null })
  return { meta: parseTorrent(torrent, allow), data }
}

function ask (responder: HashResponder, r: Parameters<typeof encodeHashRequest>[0]): RawWireMessage {
  return responder.answer(decodeHashRequest(encodeHashRequest(r))).message
}

test('BEP 52 magnet flow: piece layers fetched with hash requests, each answer proved to the pieces root', async (t) => {
  const { meta } = await bigTorrent(t)
  const seeder = new HashResponder(meta)
  // What a magnet gives: the info dict alone, no piece layers.
  const leecher = new V2PieceVerifier(parseInfoDict(meta.infoBytes, {}, allow))
  assert.equal(leecher.hasAllPieceHashes(), false)
  assert.equal(leecher.pieceHash(0), undefined)
  const requests = leecher.pieceLayerRequests()
  assert.deepEqual(requests.map(r => [r.baseLayer, r.index, r.length, r.proofLayers]), [[0, 0, 512, 9], [0, 512, 128, 9]])
  assert.ok(requests.every(r => r.length <= PIECE_HASHES_PER_REQUEST))
  for (const r of requests) {
    const answer = ask(seeder, r)
    assert.equal(answer.id, HashMessageId.hashes)
    const m = decodeHashes(answer.payload)
    assert.equal(m.uncles.length, r.length === 512 ? 1 : 3)
    assert.equal(leecher.addPieceLayerHashes(m), 'stored')
  }
  assert.equal(leecher.hasAllPieceHashes(), true)
  assert.deepEqual(leecher.pieceLayerRequests(), [])
  const full = new V2PieceVerifier(meta)
  const hexOf = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex')
  for (const p of [0, 1, 511, 512, 599]) assert.equal(hexOf(leecher.pieceHash(p)), hexOf(full.pieceHash(p)))
})

test('BEP 52: a hashes answer with one wrong hash or uncle is a mismatch (the peer is to blame), never stored', async (t) => {
  const { meta } = await bigTorrent(t)
  const seeder = new HashResponder(meta)
  const leecher = new V2PieceVerifier(parseInfoDict(meta.infoBytes, {}, allow))
  const [first] = leecher.pieceLayerRequests()
  assert.ok(first !== undefined)
  const m = decodeHashes(ask(seeder, first).payload)
  const badHash: HashesMessage = { ...m, hashes: m.hashes.map((x, i) => i === 7 ? Buffer.alloc(32, 1) : x) }
  assert.equal(leecher.addPieceLayerHashes(badHash), 'mismatch')
  const badUncle: HashesMessage = { ...m, uncles: m.uncles.map(() => Buffer.alloc(32, 2)) }
  assert.equal(leecher.addPieceLayerHashes(badUncle), 'mismatch')
  assert.equal(leecher.pieceHash(7), undefined)
  assert.equal(leecher.addPieceLayerHashes({ ...m, piecesRoot: Buffer.alloc(32, 3) }), 'unexpected')
})

test('BEP 52 responder: rejects what it cannot or must not answer, with the request carried back', async (t) => {
  const { meta } = await bigTorrent(t)
  const seeder = new HashResponder(meta)
  const root = meta.v2Files?.[0]?.piecesRoot as Uint8Array
  const cases: [Parameters<typeof encodeHashRequest>[0], RegExp][] = [
    [{ piecesRoot: Buffer.alloc(32, 9), baseLayer: 0, index: 0, length: 2, proofLayers: 0 }, /no file of this torrent/],
    [{ piecesRoot: root, baseLayer: 0, index: 0, length: 512, proofLayers: 10 }, /reach the root/],
    [{ piecesRoot: root, baseLayer: 0, index: 1024, length: 512, proofLayers: 0 }, /run past/],
    [{ piecesRoot: root, baseLayer: 0, index: 3, length: 2, proofLayers: 0 }, /not a multiple/]
  ]
  for (const [r, why] of cases) {
    const a = seeder.answer(decodeHashRequest(encodeHashRequest(r)))
    assert.equal(a.message.id, HashMessageId.hashReject)
    assert.deepEqual(Buffer.from(a.message.payload), Buffer.from(encodeHashRequest(r)))
    assert.match(a.rejected ?? '', why)
  }
  // 32 KiB pieces: the leaves are below the piece layer, which is all a seeder holds.
  const m = parseTorrent(v2Fixture('v2-multi.torrent'), allow)
  const long = m.v2Files?.find(f => f.path.endsWith('long.bin'))?.piecesRoot as Uint8Array
  const leaves = new HashResponder(m).answer({ piecesRoot: long, baseLayer: 0, index: 0, length: 2, proofLayers: 0 })
  assert.match(leaves.rejected ?? '', /below the lowest layer held \(1\)/)
})

test('BEP 52 responder: answers pass the reply gate; a malformed request closes the connection', async (t) => {
  const { meta } = await bigTorrent(t)
  const seeder = new HashResponder(meta)
  const written: RawWireMessage[] = []
  let destroyed: Error | undefined
  const conn = { writableBufferedBytes: 0, writableBufferedMessages: 0, write: (m: RawWireMessage) => { written.push(m) }, destroy: (err?: Error) => { destroyed = err } }
  const root = meta.v2Files?.[0]?.piecesRoot as Uint8Array
  const payload = encodeHashRequest({ piecesRoot: root, baseLayer: 0, index: 0, length: 512, proofLayers: 9 })
  assert.equal(seeder.onRequest(conn, payload)?.message.id, HashMessageId.hashes)
  // A peer that does not read what we sent gets nothing more queued.
  conn.writableBufferedBytes = REPLY_BACKLOG_CAP
  assert.equal(seeder.onRequest(conn, payload), undefined)
  assert.equal(written.length, 1)
  conn.writableBufferedBytes = 0
  assert.equal(seeder.onRequest(conn, payload.subarray(0, 47)), undefined)
  assert.equal(destroyed?.name, 'ProtocolError')
})

test('BEP 52 per-block verification: block hashes checked once against the piece hash, then each block alone', () => {
  const want = v2Expected['v2-multi'] as (typeof v2Expected)[string]
  const m = parseTorrent(v2Fixture('v2-multi.torrent'), allow)
  const v = new V2PieceVerifier(m)
  const dataOf = (path: string): Buffer => v2Fixture(`data/${want.input}/${path.split('/').slice(1).join('/')}`)
  let blocks = 0
  for (const f of m.v2Files ?? []) {
    if (f.length === 0) continue
    const data = dataOf(f.path)
    const leaves = naiveTree(data)[0] as Buffer[]
    for (let p = 0; p < f.pieceCount; p++) {
      const piece = f.firstPiece + p
      const bytes = data.subarray(p * m.pieceLength, Math.min((p + 1) * m.pieceLength, data.length))
      assert.equal(v.pieceSize(piece), bytes.length)
      assert.ok(v.verifyPiece(piece, bytes), `piece ${piece} of ${f.path}`)
      const bad = Buffer.from(bytes)
      bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1
      assert.ok(!v.verifyPiece(piece, bad))
      const req = v.blockHashesRequest(piece)
      let hashes: readonly Uint8Array[] | undefined
      if (req === undefined) {
        hashes = v.acceptBlockHashes(piece)
      } else {
        // What a peer holding the leaves answers (zero hashes past the end of the file).
        const answer = { ...req, hashes: leaves.slice(req.index, req.index + req.length), uncles: [] }
        assert.equal(v.acceptBlockHashes(piece, { ...answer, hashes: answer.hashes.map((x, i) => i === 0 ? Buffer.alloc(32) : x) }), undefined)
        hashes = v.acceptBlockHashes(piece, answer)
      }
      assert.ok(hashes !== undefined, `block hashes of piece ${piece}`)
      for (let b = 0; b * 16384 < bytes.length; b++) {
        const block = bytes.subarray(b * 16384, Math.min((b + 1) * 16384, bytes.length))
        assert.ok(v.verifyBlock(hashes, b, block))
        assert.ok(!v.verifyBlock(hashes, b, Buffer.concat([block.subarray(1), Buffer.alloc(1)])))
        blocks++
      }
    }
  }
  assert.equal(blocks, Math.ceil(32768 / 16384) + 1 + Math.ceil(100000 / 16384) + Math.ceil(70000 / 16384))
})

test('per-block verification is not offered for pieces of more than 8192 blocks (past what libtorrent answers): verify those whole', () => {
  // One file of 200 MiB in 256 MiB pieces: a single piece whose tree has 16384 leaves.
  const file = dict(['', dict(['length', 200 * 1024 * 1024], ['pieces root', Buffer.alloc(32, 1)])])
  const info = benc(dict(['file tree', dict(['f', file])], ['meta version', 2], ['name', 'f'], ['piece length', 256 * 1024 * 1024]))
  const v = new V2PieceVerifier(parseInfoDict(info, {}, allow))
  assert.equal(v.blockHashesRequest(0), undefined)
  assert.equal(v.acceptBlockHashes(0), undefined)
  assert.equal(v.pieceSize(0), 200 * 1024 * 1024)
})
