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

test('a magnet served by our own seeder alone: metadata (BEP 9), then the file', async (t) => {
  const data = seededBytes(700_001, 51)
  const made = makeTorrent({ length: data.length, pieceLength: 32 * 1024, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'test.bin'), data)
  const session = await seedFromDisk(made.meta, join(dir, 'test.bin'), { host: '127.0.0.1', trackers: false })
  t.after(() => session.close())
  const magnet = parseMagnet(`magnet:?xt=urn:btih:${made.meta.infoHashHex}&x.pe=127.0.0.1:${session.port}`)
  const got = await fetchMagnetMetadata(magnet, { trackers: false, timeoutMs: 20_000 })
  assert.ok(Buffer.from(got.meta.infoBytes).equals(Buffer.from(made.meta.infoBytes)), 'the exact info dict')
  const out = await collect(download(got.meta, { peers: got.peers, trackers: false }))
  assert.ok(out.equals(data))
})

test('BEP 5: our seeder announces itself to the DHT, and a trackerless magnet finds it there', async (t) => {
  const DHT = (await import('bittorrent-dht')).default
  const { within } = await import('../wire/helpers.js')
  const data = seededBytes(300_003, 52)
  const made = makeTorrent({ length: data.length, pieceLength: 32 * 1024, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'test.bin'), data)
  const node = new DHT({ bootstrap: false })
  // Registered before anything below can throw: an open UDP socket would keep the run alive.
  t.after(() => new Promise<void>(resolve => node.destroy(() => resolve())))
  node.on('error', () => {})
  node.listen(0, '127.0.0.1')
  await within(5000, 'DHT node listening', new Promise<void>(resolve => { if (node.listening) resolve(); else node.once('listening', () => resolve()) }))
  const dht = { dht: true, dhtBootstrap: [`127.0.0.1:${node.address().port}`], dhtBind: '127.0.0.1' }
  const session = await seedFromDisk(made.meta, join(dir, 'test.bin'), { host: '127.0.0.1', trackers: false, ...dht })
  t.after(() => session.close())
  const magnet = parseMagnet(`magnet:?xt=urn:btih:${made.meta.infoHashHex}`)
  // The announce runs in the background; the lookup retries until it lands.
  let got
  for (let i = 0; i < 20 && got === undefined; i++) {
    got = await fetchMagnetMetadata(magnet, { ...dht, trackers: false, timeoutMs: 2000 }).catch(() => undefined)
  }
  assert.ok(got !== undefined, 'found through the DHT')
  assert.deepEqual(got.peers, [{ host: '127.0.0.1', port: session.port }])
  assert.ok((await collect(download(got.meta, { peers: got.peers, trackers: false }))).equals(data))
})
