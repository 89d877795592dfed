/**
 * A magnet's `ws=` web seeds join the download once its metadata is known (BEP 9 from a peer; a web
 * seed has no info dict to give).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseMagnet } from '../../lib/magnet/parse.js'
import { download } from '../../lib/session/download.js'
import { fetchMagnetMetadata } from '../../lib/session/magnet-metadata.js'
import { collect } from '../helpers.js'
import { seededBytes } from '../swarm/fixture-torrent.js'
import { startLocalSwarm } from '../e2e/local-swarm.js'
import { startRangeServer } from './range-server.js'

test('magnet ws=: the web seed serves the download beside the peer that gave the metadata', async (t) => {
  const data = seededBytes(2 * 1024 * 1024 + 5, 77)
  const swarm = await startLocalSwarm([{ name: 'w.bin', data }], { seeders: 1, pieceLength: 64 * 1024 })
  t.after(() => swarm.close())
  const server = await startRangeServer(new Map([['/w.bin', data]]))
  t.after(() => server.close())
  const magnet = parseMagnet(`magnet:?xt=urn:btih:${swarm.meta.infoHashHex}&tr=${encodeURIComponent(swarm.announce)}&ws=${encodeURIComponent(server.base + 'w.bin')}`)
  const got = await fetchMagnetMetadata(magnet, { timeoutMs: 30_000 })
  assert.deepEqual(got.meta.urlList, [server.base + 'w.bin'])
  const out = await collect(download(got.meta, { peers: got.peers, stallTimeoutMs: 30_000 }))
  assert.ok(out.equals(data), 'byte-identical')
  assert.ok(server.requests.length > 0 && server.requests.every(r => r.status === 206), 'the web seed was asked')
})
