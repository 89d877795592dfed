/**
 * Issue 15, one engine: `serve` uploads while it downloads, and once its download is complete
 * the same swarm goes on as a seed (lib/swarm/seed-mode.ts) from the finished files until the
 * engine closes: a leecher that comes after our only source left still gets the whole torrent.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { openStream } from '../../lib/session/stream-engine.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'
import { tempDir } from './helpers.js'

test('a complete stream engine seeds (BEP 3): a leecher that arrives after the source left downloads everything from it, byte-identical', async (t) => {
  const made = makeTorrent({ length: 300 * 1024 + 7, pieceLength: 32 * 1024, name: 'clip.mp4' })
  const src = await tempDir(t)
  await writeFile(join(src, 'clip.mp4'), made.data)
  const source = await seedFromDisk(made.meta, join(src, 'clip.mp4'), { host: '127.0.0.1', trackers: false, dht: false })
  t.after(() => source.close())
  const engine = await openStream(made.meta, { peers: [{ host: '127.0.0.1', port: source.port }], trackers: false, dht: false, listenHost: '127.0.0.1' })
  t.after(() => engine.close())
  await within(20_000, 'the engine completes', engine.download.done)
  await source.close()
  const port = engine.download.port
  assert.ok(port !== undefined, 'still listening once complete')
  const dir = await tempDir(t)
  const late = await downloadToDisk(made.meta, join(dir, 'got.mp4'), { trackers: false, dht: false, listen: false, peers: [{ host: '127.0.0.1', port }], stallTimeoutMs: 20_000 })
  t.after(() => late.stop())
  await within(20_000, 'the late leecher completes', late.done)
  assert.ok((await readFile(join(dir, 'got.mp4'))).equals(made.data))
  assert.ok(engine.progress.uploaded >= made.meta.length, 'every byte came from the engine')
})

test('once complete, the engine drops the seeds it downloaded from (BEP 3: two seeds have nothing to trade) and keeps serving', async (t) => {
  const made = makeTorrent({ length: 200 * 1024 + 1, pieceLength: 32 * 1024, name: 'clip.mp4' })
  // A seeder that never drops a seed itself: only our side can end the connection.
  const origin = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(() => origin.close())
  const engine = await openStream(made.meta, { peers: [{ host: '127.0.0.1', port: origin.port }], trackers: false, dht: false, listenHost: '127.0.0.1' })
  t.after(() => engine.close())
  await within(20_000, 'the engine completes', engine.download.done)
  await within(10_000, 'the seed let go', (async () => { while (engine.progress.peers > 0) await new Promise(resolve => setTimeout(resolve, 20)) })())
  assert.ok(engine.download.port !== undefined, 'still listening')
})
