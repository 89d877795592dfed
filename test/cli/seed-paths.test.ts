/**
 * `bt-stream seed x.torrent PATH`: PATH is the payload itself (the file, or the NAME directory:
 * what `bt-stream create` took) or the directory that holds it (lib/storage/output-path.ts). Each
 * case seeds to a library leecher on loopback, which must get the torrent byte for byte.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../lib/cli/main.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { fakeIO } from '../helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent, seededBytes, type MadeTorrent } from '../swarm/fixture-torrent.js'

const PL = 16 * 1024
const ONE = makeTorrent({ name: 'one.iso', pieceLength: PL, length: 3 * PL + 9, data: seededBytes(3 * PL + 9, 71) })
const ALBUM = makeTorrent({ name: 'album', pieceLength: PL, length: 0, files: [{ path: ['cd1', 'a.bin'], length: PL + 100 }, { path: ['b.bin'], length: 2 * PL + 7 }], data: seededBytes(3 * PL + 107, 72) })
/** How long a seed may take to say its port, on a loaded machine. */
const START_TIMEOUT_MS = 20_000

function setup (t: TestContext, made: MadeTorrent): { dir: string, torrent: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-paths-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const torrent = join(dir, 'x.torrent')
  writeFileSync(torrent, made.torrent)
  return { dir, torrent }
}

/** The album's files laid out under `payload` (its NAME directory, whatever it is called). */
function writeAlbum (payload: string): void {
  mkdirSync(join(payload, 'cd1'), { recursive: true })
  writeFileSync(join(payload, 'cd1', 'a.bin'), ALBUM.data.subarray(0, PL + 100))
  writeFileSync(join(payload, 'b.bin'), ALBUM.data.subarray(PL + 100))
}

/** Runs `bt-stream seed torrent path`, has a leecher fetch everything from it, then stops it. */
async function seedsAll (t: TestContext, made: MadeTorrent, torrent: string, path: string): Promise<void> {
  const ac = new AbortController()
  t.after(() => ac.abort())
  const io = { ...fakeIO(), signal: ac.signal }
  const exited = main(['seed', torrent, path, '--host', '127.0.0.1', '--no-trackers', '--no-dht'], io)
  const port = await new Promise<number>((resolve, reject) => {
    const started = Date.now()
    const poll = setInterval(() => {
      const m = /on port (\d+)/.exec(io.err())
      if (m !== null) { clearInterval(poll); resolve(Number(m[1])) }
      if (Date.now() - started > START_TIMEOUT_MS) { clearInterval(poll); reject(new Error(`no port: ${io.err()}`)) }
    }, 20)
    exited.then(code => { clearInterval(poll); reject(new Error(`seed exited ${code}: ${io.err()}`)) }, reject)
  })
  assert.ok((await leech(made, port)).equals(made.data), `${path}: the leecher got the torrent byte for byte`)
  ac.abort()
  await exited
}

/** A library download to disk from the seeder at `port`: the torrent's byte stream it wrote. */
async function leech (made: MadeTorrent, port: number): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-paths-leech-'))
  try {
    const dl = await downloadToDisk(made.meta, join(dir, 'out') + '/', { peers: [{ host: '127.0.0.1', port }], trackers: false, dht: false, listen: false })
    try { await dl.done } finally { await dl.stop() }
    return Buffer.concat(dl.storage.layout.finals.map(f => readFileSync(f as string)))
  } finally { rmSync(dir, { recursive: true, force: true }) }
}

async function seedFails (made: MadeTorrent, torrent: string, path: string): Promise<string> {
  const io = fakeIO()
  const code = await main(['seed', torrent, path, '--host', '127.0.0.1', '--no-trackers', '--no-dht'], io)
  assert.equal(code, 1, io.err())
  return io.err()
}

test('seed, single file: PATH is the file itself, or the directory holding NAME', async (t) => {
  const { dir, torrent } = setup(t, ONE)
  writeFileSync(join(dir, 'one.iso'), ONE.data)
  writeFileSync(join(dir, 'renamed.iso'), ONE.data)
  await seedsAll(t, ONE, torrent, join(dir, 'one.iso'))
  await seedsAll(t, ONE, torrent, join(dir, 'renamed.iso'))
  await seedsAll(t, ONE, torrent, dir)
})

test('seed, several files: PATH is the directory holding NAME, or the NAME directory itself (what create took), or a renamed copy of it', async (t) => {
  const { dir, torrent } = setup(t, ALBUM)
  writeAlbum(join(dir, 'album'))
  await seedsAll(t, ALBUM, torrent, dir)
  await seedsAll(t, ALBUM, torrent, join(dir, 'album'))
  await seedsAll(t, ALBUM, torrent, join(dir, 'album') + '/')
  cpSync(join(dir, 'album'), join(dir, 'My Album (2024)'), { recursive: true })
  await seedsAll(t, ALBUM, torrent, join(dir, 'My Album (2024)'))
})

test('seed, several files, the data nowhere under PATH: exit 1 naming PATH/NAME; PATH a file: a directory is needed', async (t) => {
  const { dir, torrent } = setup(t, ALBUM)
  mkdirSync(join(dir, 'empty'))
  assert.equal(await seedFails(ALBUM, torrent, join(dir, 'empty')), `bt-stream: ${join(dir, 'empty', 'album')}: no piece of "album" verifies there; nothing to seed\n`)
  assert.equal(await seedFails(ALBUM, torrent, torrent), `bt-stream: ${JSON.stringify(torrent)} is a file; "album" has several files and needs a directory\n`)
})

test('library: seedFromDisk takes the same PATH meanings, and seeds what downloadToDisk put at the same PATH', async (t) => {
  const { dir } = setup(t, ONE)
  const origin = await startFakeSeeder(ONE.meta, ONE.data, { kind: 'honest' })
  t.after(() => origin.close())
  const dl = await downloadToDisk(ONE.meta, dir, { peers: [{ host: '127.0.0.1', port: origin.port }], trackers: false, dht: false, listen: false })
  await dl.done
  await dl.stop()
  assert.ok(readFileSync(join(dir, 'one.iso')).equals(ONE.data))
  const session = await seedFromDisk(ONE.meta, dir, { host: '127.0.0.1', trackers: false, dht: false })
  t.after(() => session.close())
  assert.equal(session.have.count(), ONE.meta.pieceCount)
  assert.ok((await leech(ONE, session.port)).equals(ONE.data))
})
