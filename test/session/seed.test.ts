/**
 * Seeding from disk (issue 6) as a magnet's source (issue 7): our seeder answers BEP 9 metadata
 * requests, so a magnet download needs nothing but our seeder.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseMagnet } from '../../lib/magnet/parse.js'
import { download } from '../../lib/session/download.js'
import { fetchMagnetMetadata } from '../../lib/session/magnet-metadata.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { collect } from '../helpers.js'
import { makeTorrent, seededBytes } from '../swarm/fixture-torrent.js'

test('a magnet served by our own seeder alone: metadata (BEP 9), then the file', async () => {
  const data = seededBytes(700_001, 51)
  const t = makeTorrent({ length: data.length, pieceLength: 32 * 1024, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-'))
  writeFileSync(join(dir, 'test.bin'), data)
  const session = await seedFromDisk(t.meta, join(dir, 'test.bin'), { host: '127.0.0.1', trackers: false })
  try {
    const magnet = parseMagnet(`magnet:?xt=urn:btih:${t.meta.infoHashHex}&x.pe=127.0.0.1:${session.port}`)
    const got = await fetchMagnetMetadata(magnet, { trackers: false, timeoutMs: 20_000 })
    assert.ok(Buffer.from(got.meta.infoBytes).equals(Buffer.from(t.meta.infoBytes)), 'the exact info dict')
    const out = await collect(download(got.meta, { peers: got.peers, trackers: false }))
    assert.ok(out.equals(data))
  } finally {
    await session.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
