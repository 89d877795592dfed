/**
 * BEP 52 per-block blame: a v2 piece that failed with several senders has its 16 KiB block
 * hashes asked of a peer, proved to the piece hash, and each received block checked, so the
 * sender of a bad block is named exactly, at once.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTorrent } from '../../lib/metainfo/create.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { HashService } from '../../lib/v2/hash-service.js'
import { decodeHashRequest, encodeHashes, encodeHashReject, HashMessageId, uncleCount, type HashRequest } from '../../lib/wire/hash-messages.js'
import { seededBytes } from '../swarm/fixture-torrent.js'
import { naiveTree } from './helpers.js'

const PIECE = 64 * 1024

async function torrent (t: { after: (fn: () => void) => void }): Promise<{ meta: Metainfo, data: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-blame-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const data = seededBytes(10 * PIECE + 5000, 7)
  writeFileSync(join(dir, 'f.bin'), data)
  return { meta: (await createTorrent(join(dir, 'f.bin'), { pieceLength: PIECE, version: 'v2', creationDate: null })).meta, data }
}

/** An answer from the file's full tree (test-side, independent of lib/v2's responder). */
function answer (data: Buffer, r: HashRequest, lie = false): Uint8Array {
  const layers = naiveTree(data)
  const hashes = (layers[r.baseLayer] as Buffer[]).slice(r.index, r.index + r.length).map(h => Buffer.from(h))
  if (lie) (hashes[0] as Buffer).writeUInt8((hashes[0] as Buffer).readUInt8(0) ^ 1, 0)
  const uncles: Buffer[] = []
  for (let j = 0, layer = r.baseLayer + Math.log2(r.length), i = r.index / r.length; j < uncleCount(r.length, r.proofLayers); j++, layer++, i >>= 1) uncles.push((layers[layer] as Buffer[])[i ^ 1] as Buffer)
  return encodeHashes({ ...r, hashes, uncles })
}

interface Fake { readonly name: string, readonly sent: Uint8Array[] }
const fake = (name: string): Fake => ({ name, sent: [] })

function service (meta: Metainfo): { svc: HashService<Fake>, blamed: [string, string][] } {
  const blamed: [string, string][] = []
  const svc = HashService.for<Fake>(meta, {
    connectionOf: p => ({ write: (m: { payload: Uint8Array }) => { p.sent.push(m.payload) } }),
    blame: (p, why) => { blamed.push([p.name, why]) }
  })
  assert.ok(svc !== undefined)
  return { svc, blamed }
}

/** Piece 3 as received: blocks from a, b, a, b; block 2 (from a) corrupted. */
function failedPiece (data: Buffer, a: Fake, b: Fake): { index: number, buffer: Buffer, senders: Fake[] } {
  const buffer = Buffer.from(data.subarray(3 * PIECE, 4 * PIECE))
  buffer.writeUInt8(buffer.readUInt8(2 * 16384 + 100) ^ 0xff, 2 * 16384 + 100)
  return { index: 3, buffer, senders: [a, b, a, b] }
}

test('BEP 52: a failed piece with two senders: its block hashes are asked of a third peer, and only the sender of the bad block is blamed, naming the block', async t => {
  const { meta, data } = await torrent(t)
  const { svc, blamed } = service(meta)
  const a = fake('a')
  const b = fake('b')
  const c = fake('c')
  svc.pieceFailed(failedPiece(data, a, b), [a, b, c])
  assert.deepEqual([a.sent.length, b.sent.length, c.sent.length], [0, 0, 1], 'asked of the peer that sent none of it')
  const req = decodeHashRequest(c.sent[0] as Uint8Array)
  assert.deepEqual([req.baseLayer, req.index, req.length], [0, 3 * 4, 4], 'the four leaf hashes of piece 3')
  assert.equal(svc.onMessage(c, HashMessageId.hashes, answer(data, req)), true)
  assert.deepEqual(blamed, [['a', 'sent block 2 of piece 3, which failed its BEP 52 block hash']])
})

test('BEP 52: block hashes that do not prove to the piece hash blame the peer that sent them, never the block senders', async t => {
  const { meta, data } = await torrent(t)
  const { svc, blamed } = service(meta)
  const a = fake('a')
  const b = fake('b')
  svc.pieceFailed(failedPiece(data, a, b), [a, b])
  const asked = a.sent.length === 1 ? a : b
  const req = decodeHashRequest(asked.sent[0] as Uint8Array)
  svc.onMessage(asked, HashMessageId.hashes, answer(data, req, true))
  assert.deepEqual(blamed, [[asked.name, 'sent block hashes of piece 3 that do not hash up to its piece hash (BEP 52)']])
})

test('BEP 52: a hash reject, or a piece with one sender, blames nobody through block hashes', async t => {
  const { meta, data } = await torrent(t)
  const { svc, blamed } = service(meta)
  const a = fake('a')
  const b = fake('b')
  const c = fake('c')
  svc.pieceFailed({ ...failedPiece(data, a, b), senders: [a, a, a, a] }, [a, b, c])
  assert.deepEqual([a.sent.length, b.sent.length, c.sent.length], [0, 0, 0], 'one sender: it is to blame already')
  svc.pieceFailed(failedPiece(data, a, b), [a, b, c])
  svc.onMessage(c, HashMessageId.hashReject, encodeHashReject(decodeHashRequest(c.sent[0] as Uint8Array)))
  // A late answer to the rejected request is ignored.
  svc.onMessage(c, HashMessageId.hashes, answer(data, decodeHashRequest(c.sent[0] as Uint8Array)))
  assert.deepEqual(blamed, [])
})
