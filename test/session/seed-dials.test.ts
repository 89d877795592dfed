/**
 * `seed --peer`: the seeder dials the peers it is given (a leecher that never dials loopback,
 * as Transmission does, is reached this way), besides those the trackers return.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'
import { deadTcpPort } from '../tracker/helpers.js'

test('seedFromDisk({ peers }) dials a listening leecher that knows of no peer; it downloads byte-identical', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-seed-dials-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const made = makeTorrent({ length: 200 * 1024 + 3, pieceLength: 32 * 1024 })
  await writeFile(join(dir, 'seed.bin'), made.data)
  // The leecher has no tracker, no DHT, and one peer that refuses: only our dial can reach it.
  const dead = await deadTcpPort()
  const dl = await downloadToDisk(made.meta, join(dir, 'got.bin'), { trackers: false, dht: false, peers: [{ host: '127.0.0.1', port: dead }], listenHost: '127.0.0.1', stallTimeoutMs: 30_000 })
  t.after(() => dl.stop())
  const port = dl.port
  assert.ok(port !== undefined)
  const seed = await seedFromDisk(made.meta, join(dir, 'seed.bin'), { host: '127.0.0.1', trackers: false, peers: [{ host: '127.0.0.1', port }] })
  t.after(() => seed.close())
  await within(20_000, 'the download', dl.done)
  assert.ok((await readFile(join(dir, 'got.bin'))).equals(made.data))
})

test('seedFromDisk({ peers }): a leecher that was not listening yet at the first dial is reached by the pool\'s retry within seconds (Transmission started after us)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-seed-dials-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const made = makeTorrent({ length: 100 * 1024 + 5, pieceLength: 32 * 1024 })
  await writeFile(join(dir, 'seed.bin'), made.data)
  const port = await deadTcpPort()
  const seed = await seedFromDisk(made.meta, join(dir, 'seed.bin'), { host: '127.0.0.1', trackers: false, dht: false, utp: 'off', peers: [{ host: '127.0.0.1', port }] })
  t.after(() => seed.close())
  // The first dial is refused: nothing listens there yet.
  await within(10_000, 'the first dial refused', (async () => { while (seed.seeder.swarm.pool.outcomes.refused !== 1) await new Promise(resolve => setTimeout(resolve, 20)) })())
  const dl = await downloadToDisk(made.meta, join(dir, 'got.bin'), { trackers: false, dht: false, utp: 'off', port, listenHost: '127.0.0.1', peers: [{ host: '127.0.0.1', port: await deadTcpPort() }], stallTimeoutMs: 60_000 })
  t.after(() => dl.stop())
  // The pool retries after 2 s, then 8 s (the download's own backoff); the seeder's old loop waited a minute.
  await within(20_000, 'the download, from the retried dial', dl.done)
  assert.ok((await readFile(join(dir, 'got.bin'))).equals(made.data))
})

test('DiskDownload.stop() before the end settles done (rejects: "download stopped") and closes its files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-stop-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const made = makeTorrent({ length: 200 * 1024, pieceLength: 32 * 1024 })
  // Its only peer refuses: nothing can arrive, and stop() must still end it.
  const dl = await downloadToDisk(made.meta, join(dir, 'got.bin'), { trackers: false, dht: false, peers: [{ host: '127.0.0.1', port: await deadTcpPort() }], listen: false })
  const stopped = dl.stop()
  await assert.rejects(within(10_000, 'done settles', dl.done), /download stopped/)
  await within(10_000, 'stop resolves', stopped)
})

test('seed mode: a seed we dialed is dropped once it says it has every piece (BEP 3), and the pool does not dial it again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-seed-dials-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const made = makeTorrent({ length: 100 * 1024 + 5, pieceLength: 32 * 1024 })
  await writeFile(join(dir, 'seed.bin'), made.data)
  const other = await seedFromDisk(made.meta, join(dir, 'seed.bin'), { host: '127.0.0.1', trackers: false, dht: false, utp: 'off' })
  t.after(() => other.close())
  let dialedUs = 0
  other.seeder.on('peer', () => { dialedUs++ })
  const seed = await seedFromDisk(made.meta, join(dir, 'seed.bin'), { host: '127.0.0.1', trackers: false, dht: false, utp: 'off', peers: [{ host: '127.0.0.1', port: other.port }] })
  t.after(() => seed.close())
  await within(10_000, 'the seed-to-seed connection', (async () => { while (dialedUs === 0) await new Promise(resolve => setTimeout(resolve, 20)) })())
  await within(10_000, 'both let it go', (async () => { while (seed.seeder.peerCount + other.seeder.peerCount > 0) await new Promise(resolve => setTimeout(resolve, 20)) })())
  // The pool's first retry would come after 2 s, the second after 8 s.
  await new Promise(resolve => setTimeout(resolve, 5000))
  assert.equal(dialedUs, 1, 'dialed once')
})
