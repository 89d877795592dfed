import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { downloadToDisk, MIN_ACTIVE_PIECES } from '../../lib/session/download-to-disk.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'
import { deadTcpPort } from '../tracker/helpers.js'

// BEP 3 pieces: `-o` holds at most maxActiveBytes of pieces being fetched or hashed (never fewer
// than MIN_ACTIVE_PIECES), however many requests the peer's pipeline takes.
test('downloadToDisk({ maxActiveBytes }): pieces in progress stay within the budget, floored at MIN_ACTIVE_PIECES; the file is byte-identical', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-disk-budget-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  // 16 KiB pieces, one block each: a peer's pipeline of many blocks would start many pieces.
  const made = makeTorrent({ length: 96 * 16 * 1024 + 7, pieceLength: 16 * 1024 })
  await writeFile(join(dir, 'seed.bin'), made.data)
  const dl = await downloadToDisk(made.meta, join(dir, 'got.bin'), { trackers: false, dht: false, utp: 'off', peers: [{ host: '127.0.0.1', port: await deadTcpPort() }], listenHost: '127.0.0.1', stallTimeoutMs: 30_000, maxActiveBytes: 1 })
  t.after(() => dl.stop())
  let most = 0
  dl.swarm.on('piece', () => { most = Math.max(most, dl.swarm.tracker.activeCount) })
  const port = dl.port
  assert.ok(port !== undefined)
  const seed = await seedFromDisk(made.meta, join(dir, 'seed.bin'), { host: '127.0.0.1', trackers: false, dht: false, utp: 'off', peers: [{ host: '127.0.0.1', port }] })
  t.after(() => seed.close())
  await within(20_000, 'the download', dl.done)
  assert.ok((await readFile(join(dir, 'got.bin'))).equals(made.data))
  assert.ok(most > 0 && most <= MIN_ACTIVE_PIECES, `at most ${MIN_ACTIVE_PIECES} pieces in progress, saw ${most}`)
})
