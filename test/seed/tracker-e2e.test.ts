import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import WebTorrent, { type Torrent } from 'webtorrent'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder } from '../../lib/seed/seeder.js'
import { Announcer } from '../../lib/tracker/announcer.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { fixture } from '../helpers.js'
import { startRealTracker } from '../tracker/helpers.js'
import { within } from '../wire/helpers.js'
import { fixturePayload } from './fixture-seed.js'
import { MemoryReader } from './helpers.js'

// The whole seeding session against software no one here wrote: a bittorrent-tracker server and
// a webtorrent leecher that finds us only through that tracker. Loopback only.

test('seeding session: we announce to a real tracker as a seed (left=0), a webtorrent leecher finds us there and downloads byte-identical; stopped on close', async () => {
  const tracker = await startRealTracker('127.0.0.1')
  const torrentFile = fixture('multi.torrent')
  const meta = parseTorrent(torrentFile)
  const payload = fixturePayload(meta)
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const stats = { get: () => ({ uploaded: 0, downloaded: 0, left: -1 }) }
  const announcer = new Announcer({ infoHash: meta.infoHash, peerId: listener.peerId, port, tiers: [[tracker.httpUrl]], getStats: () => stats.get() })
  const seeder = new Seeder({ meta, reader: new MemoryReader(payload, meta.pieceLength), have: BitField.full(meta.pieceCount), listener, announcer })
  stats.get = () => seeder.stats()
  const stops: string[] = []
  tracker.server.on('stop', (addr: string) => { stops.push(addr) })
  const dir = await mkdtemp(join(tmpdir(), 'bt-stream-seed-e2e-'))
  // secure: 0, see interop.test.ts. The trackers inside multi.torrent (ports 6969..) refuse on
  // loopback; the one we add is the real one.
  const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, secure: 0 })
  client.on('error', () => {})
  try {
    seeder.start()
    const round = await within(5000, 'our first announce', announcer.settled())
    assert.deepEqual(round.answered, [tracker.httpUrl])
    assert.equal(tracker.server.torrents[meta.infoHashHex]?.complete, 1, 'the tracker counts us as a seeder')

    const torrent = await within(10_000, 'webtorrent ready', new Promise<Torrent>((resolve, reject) => {
      const t = client.add(torrentFile, { path: dir, announce: [tracker.httpUrl] }, resolve)
      t.on('error', reject)
    }))
    if (!torrent.done) await within(20_000, 'webtorrent done', new Promise<void>(resolve => torrent.once('done', () => resolve())))
    for (const f of meta.files) {
      if (f.length === 0) continue
      const got = await readFile(join(dir, f.path))
      assert.ok(got.equals(payload.subarray(f.offset, f.offset + f.length)), `${f.path} byte-identical`)
    }
    assert.ok(seeder.uploaded >= meta.length)
  } finally {
    await new Promise<void>(resolve => client.destroy(() => resolve()))
    await seeder.close()
    await listener.close()
    await tracker.close()
    await rm(dir, { recursive: true, force: true })
  }
  assert.ok(stops.includes(`127.0.0.1:${port}`), `our stopped reached the tracker on close: ${stops.join(', ')}`)
})
