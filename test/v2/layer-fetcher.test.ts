import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTorrent } from '../../lib/metainfo/create.js'
import { parseInfoDict, parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { HashResponder } from '../../lib/v2/hash-responder.js'
import { LayerFetcher } from '../../lib/v2/layer-fetcher.js'
import { decodeHashRequest, encodeHashReject, HashMessageId } from '../../lib/wire/hash-messages.js'

/** A v2 torrent of one 600-piece file (16 KiB pieces: two piece-layer requests). */
async function bigTorrent (t: { after: (fn: () => void) => void }): Promise<Metainfo> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-layers-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const data = Buffer.alloc(600 * 16384 - 1000)
  for (let i = 0; i < data.length; i += 32) createHash('sha256').update(String(i)).digest().copy(data, i)
  writeFileSync(join(dir, 'big.bin'), data)
  const { torrent } = await createTorrent(join(dir, 'big.bin'), { pieceLength: 16384, version: 'v2', creationDate: null })
  return parseTorrent(torrent)
}

type Behaviour = 'honest' | 'liar' | 'rejects' | 'silent'

/** Peers answering at once from a HashResponder: honestly, with one flipped hash byte, or never. */
function wire (meta: Metainfo, requestTimeoutMs?: number): { fetcher: LayerFetcher<Behaviour>, bad: [Behaviour, string][], asked: Behaviour[] } {
  const responder = new HashResponder(meta)
  const bad: [Behaviour, string][] = []
  const asked: Behaviour[] = []
  const magnetMeta = parseInfoDict(meta.infoBytes, {}, { allowV2Only: true })
  const fetcher: LayerFetcher<Behaviour> = new LayerFetcher<Behaviour>(magnetMeta, {
    send: (peer, id, payload) => {
      assert.equal(id, HashMessageId.hashRequest)
      asked.push(peer)
      if (peer === 'silent') return
      const req = decodeHashRequest(payload)
      const answer = peer === 'rejects' ? { id: HashMessageId.hashReject, payload: encodeHashReject(req) } : responder.answer(req).message
      const reply = Buffer.from(answer.payload)
      // A bit of the first hash (after the 48-byte header) flipped.
      if (peer === 'liar') reply.writeUInt8(reply.readUInt8(53) ^ 1, 53)
      queueMicrotask(() => fetcher.onMessage(peer, answer.id, reply))
    },
    onBadPeer: (peer, why) => { bad.push([peer, why]); fetcher.removePeer(peer) },
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs })
  })
  return { fetcher, bad, asked }
}

test('BEP 52 magnet: piece layers from a peer\'s hash answers complete the Metainfo, equal to the .torrent\'s', async t => {
  const meta = await bigTorrent(t)
  const { fetcher, asked } = wire(meta)
  assert.equal(fetcher.missing, 2)
  fetcher.addPeer('honest')
  const got = await fetcher.done
  assert.equal(got.pieceLayersStatus, 'complete')
  assert.deepEqual(got.pieceLayers, meta.pieceLayers)
  assert.deepEqual(asked, ['honest', 'honest'])
})

test('BEP 52 magnet: a peer whose hashes do not prove to the pieces root is named exactly, and another peer\'s answer is used', async t => {
  const meta = await bigTorrent(t)
  const { fetcher, bad } = wire(meta)
  fetcher.addPeer('liar')
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(bad.map(b => b[0]), ['liar'])
  assert.match(bad[0]?.[1] ?? '', /do not hash up to the pieces root/)
  assert.equal(fetcher.missing, 2, 'nothing from the liar was kept')
  fetcher.addPeer('honest')
  assert.deepEqual((await fetcher.done).pieceLayers, meta.pieceLayers)
})

test('BEP 52 magnet: a hash reject moves the request to another peer; a peer is never asked the same request twice', async t => {
  const meta = await bigTorrent(t)
  const { fetcher, asked, bad } = wire(meta)
  fetcher.addPeer('rejects')
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(asked, ['rejects', 'rejects'])
  assert.match(fetcher.describe(), /2 of the piece-layer requests unanswered from 1 connected peers \(2 rejected by every one/)
  fetcher.addPeer('honest')
  assert.deepEqual((await fetcher.done).pieceLayers, meta.pieceLayers)
  assert.deepEqual(asked, ['rejects', 'rejects', 'honest', 'honest'])
  assert.deepEqual(bad, [])
})

test('BEP 52 magnet: a peer that never answers a hash request has it asked of another peer after the request timeout', async t => {
  const meta = await bigTorrent(t)
  const { fetcher, asked, bad } = wire(meta, 50)
  // The fetcher's timers are unref'd (connections keep a real process alive): this test's stand-in.
  const keep = setInterval(() => {}, 1000)
  t.after(() => clearInterval(keep))
  fetcher.addPeer('silent')
  fetcher.addPeer('honest')
  const got = await fetcher.done
  assert.deepEqual(got.pieceLayers, meta.pieceLayers)
  assert.deepEqual(bad, [])
  assert.ok(asked.includes('silent') && asked.filter(p => p === 'honest').length === 2, asked.join(' '))
})
