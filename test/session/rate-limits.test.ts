/**
 * `maxDownloadRate` / `maxUploadRate` and the seeding stops (`seedRatio`, `seedTimeMs`). A limit
 * is checked by a lower bound on the time taken (a loaded machine only makes it longer) and by the
 * bytes, which must stay exact.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { download } from '../../lib/session/download.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { collect } from '../helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'

const KiB = 1024

test('maxDownloadRate: 1.5 MiB at 512 KiB/s takes at least 2 s after the first second\'s burst, byte-identical', async (t) => {
  const made = makeTorrent({ length: 1536 * KiB, pieceLength: 64 * KiB })
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(() => seeder.close())
  const t0 = Date.now()
  const out = await within(30_000, 'download', collect(download(made.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, maxDownloadRate: 512 * KiB })))
  const ms = Date.now() - t0
  assert.ok(out.equals(made.data))
  // 512 KiB of burst, then 1 MiB at 512 KiB/s: 2 s; unlimited on loopback it takes ~0.1 s.
  assert.ok(ms >= 1600, `took ${ms} ms`)
})

async function seedFile (t: { after: (fn: () => unknown) => void }, length: number, opts: Parameters<typeof seedFromDisk>[2]) {
  const dir = await mkdtemp(join(tmpdir(), 'bt-rate-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const made = makeTorrent({ length, pieceLength: 32 * KiB })
  await writeFile(join(dir, 'data.bin'), made.data)
  const session = await seedFromDisk(made.meta, join(dir, 'data.bin'), { host: '127.0.0.1', trackers: false, ...opts })
  t.after(() => session.close())
  return { made, session }
}

test('maxUploadRate: a seeder at 256 KiB/s serves 768 KiB in at least 2 s after the first second\'s burst', async (t) => {
  const { made, session } = await seedFile(t, 768 * KiB, { maxUploadRate: 256 * KiB })
  const t0 = Date.now()
  const out = await within(30_000, 'download', collect(download(made.meta, { peers: [{ host: '127.0.0.1', port: session.port }], trackers: false })))
  const ms = Date.now() - t0
  assert.ok(out.equals(made.data))
  assert.ok(ms >= 1600, `took ${ms} ms`)
})

test('seedRatio 1: seeding stops by itself once the torrent\'s size went out; seedTimeMs stops it by the clock', async (t) => {
  const { made, session } = await seedFile(t, 256 * KiB, { seedRatio: 1 })
  const out = await within(20_000, 'download', collect(download(made.meta, { peers: [{ host: '127.0.0.1', port: session.port }], trackers: false })))
  assert.ok(out.equals(made.data))
  assert.equal(await within(10_000, 'ratio reached', session.finished), 'ratio')
  assert.ok(session.seeder.uploaded >= made.meta.length)
  const timed = await seedFile(t, 64 * KiB, { seedTimeMs: 200 })
  assert.equal(await within(10_000, 'time reached', timed.session.finished), 'time')
})
