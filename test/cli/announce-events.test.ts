/**
 * A tracker that answers is reported the same way in every mode (issue 15): the stdout download
 * already did (its announcer's 'announce'); `-o` (DiskDownload) and `seed` (SeedSession) forward
 * it too, so the progress line's "[tracker …]" note clears when a tracker recovers, and `--json`
 * has an `announce` line, whatever the mode.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import bencode from 'bencode'
import { main } from '../../lib/cli/main.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import type { AnnounceInfo } from '../../lib/tracker/announcer.js'
import { fakeIO, tempDir } from '../helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent, seededBytes } from '../swarm/fixture-torrent.js'
import { hostileHttp } from '../tracker/helpers.js'
import { within } from '../wire/helpers.js'

/** A tracker that answers every announce (BEP 3: an interval, no peers). */
async function answeringTracker (): Promise<Awaited<ReturnType<typeof hostileHttp>>> {
  return await hostileHttp((_q, res) => res.end(bencode.encode({ interval: 1800, peers: Buffer.alloc(0) })))
}

test('-o: DiskDownload emits the announcer\'s announce, so the CLI reports it in --json', async () => {
  const tracker = await answeringTracker()
  const data = seededBytes(256 * 1024, 31)
  const made = makeTorrent({ length: data.length, pieceLength: 32768, data, announce: tracker.url })
  const origin = await startFakeSeeder(made.meta, data, { kind: 'honest' })
  const { dir, remove } = tempDir('bt-announce-')
  try {
    writeFileSync(join(dir, 'x.torrent'), made.torrent)
    const io = fakeIO()
    assert.equal(await main([join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), '--no-dht', '--peer', `127.0.0.1:${origin.port}`, '--host', '127.0.0.1', '--json'], io), 0, io.err())
    const events = io.err().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    assert.ok(events.some(e => e.event === 'announce' && e.url === tracker.url), JSON.stringify(events))
  } finally {
    await origin.close()
    await tracker.close()
    remove()
  }
})

test('seed: SeedSession hands onAnnounce each answer of a tracker; bt-stream seed --json says it as an announce line', async (t) => {
  const tracker = await answeringTracker()
  t.after(() => tracker.close())
  const data = seededBytes(100_000, 32)
  const made = makeTorrent({ length: data.length, pieceLength: 16384, data, announce: tracker.url })
  const { dir, remove } = tempDir('bt-announce-')
  t.after(remove)
  writeFileSync(join(dir, 'x.bin'), data)
  writeFileSync(join(dir, 'x.torrent'), made.torrent)
  const answered = new Promise<AnnounceInfo>(resolve => {
    void seedFromDisk(made.meta, join(dir, 'x.bin'), { host: '127.0.0.1', dht: false, onAnnounce: resolve }).then(s => t.after(() => s.close()))
  })
  assert.equal((await within(20_000, 'the tracker answers', answered)).url, tracker.url)
  const ac = new AbortController()
  const io = { ...fakeIO(), signal: ac.signal }
  const base = fakeIO()
  const run = main(['seed', join(dir, 'x.torrent'), join(dir, 'x.bin'), '--host', '127.0.0.1', '--no-dht', '--json'], { ...io, stderr: base.stderr })
  t.after(() => ac.abort())
  await within(20_000, 'an announce line', (async () => { while (!base.err().includes('"announce"')) await new Promise(resolve => setTimeout(resolve, 50)) })())
  ac.abort()
  await within(10_000, 'seed stops', run)
  const events = base.err().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
  assert.ok(events.some(e => e.event === 'announce' && e.url === tracker.url), JSON.stringify(events))
})

test('-o: DiskDownload emits announce for a tracker that answers', async (t) => {
  const tracker = await answeringTracker()
  t.after(() => tracker.close())
  const data = seededBytes(64 * 1024, 33)
  const made = makeTorrent({ length: data.length, pieceLength: 16384, data, announce: tracker.url })
  const { dir, remove } = tempDir('bt-announce-')
  t.after(remove)
  const dl = await downloadToDisk(made.meta, join(dir, 'x.bin'), { dht: false, listenHost: '127.0.0.1', stallTimeoutMs: 30_000 })
  t.after(() => dl.stop())
  const [info] = await within(20_000, 'announce', new Promise<[AnnounceInfo]>(resolve => dl.once('announce', (i) => resolve([i]))))
  assert.equal(info.url, tracker.url)
})
