/**
 * `bt-stream x.torrent -o PATH`: what PATH means (lib/storage/output-path.ts), case by case, with an
 * honest seeder on loopback. An existing directory holds the torrent, a single file's too
 * (DIR/NAME); another path is a single file's own; a multi-file torrent's NAME directory holding
 * its files is resumed in place; resuming with the same -o finds what the first run left.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../lib/cli/main.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { fakeIO } from '../helpers.js'
import { startFakeSeeder, type FakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent, seededBytes, type MadeTorrent } from '../swarm/fixture-torrent.js'

const PL = 16 * 1024
const ONE = makeTorrent({ name: 'one.iso', pieceLength: PL, length: 3 * PL + 9, data: seededBytes(3 * PL + 9, 61) })
const ALBUM = makeTorrent({ name: 'album', pieceLength: PL, length: 0, files: [{ path: ['cd1', 'a.bin'], length: PL + 100 }, { path: ['b.bin'], length: 2 * PL + 7 }], data: seededBytes(3 * PL + 107, 62) })
const A_BIN = ALBUM.data.subarray(0, PL + 100)
const B_BIN = ALBUM.data.subarray(PL + 100)

function setup (t: TestContext, made: MadeTorrent): { dir: string, torrent: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bt-cli-paths-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const torrent = join(dir, 'x.torrent')
  writeFileSync(torrent, made.torrent)
  return { dir, torrent }
}

async function seeder (t: TestContext, made: MadeTorrent): Promise<FakeSeeder> {
  const s = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(() => s.close())
  return s
}

async function download (t: TestContext, made: MadeTorrent, torrent: string, out: string): Promise<{ code: number, err: string }> {
  const s = await seeder(t, made)
  const io = fakeIO()
  const code = await main([torrent, '-o', out, '--peer', `127.0.0.1:${s.port}`, '--no-trackers', '--no-dht', '--stall-timeout', '20', '--quiet'], io)
  return { code, err: io.err() }
}

test('-o DIR (an existing directory), single file: lands in DIR/NAME, as a multi-file torrent does', async (t) => {
  const { dir, torrent } = setup(t, ONE)
  const out = join(dir, 'downloads')
  mkdirSync(out)
  const r = await download(t, ONE, torrent, out)
  assert.equal(r.code, 0, r.err)
  assert.deepEqual(readdirSync(out), ['one.iso'])
  assert.ok(readFileSync(join(out, 'one.iso')).equals(ONE.data))
})

test('-o PATH that does not exist, single file: PATH is the file itself; DIR/ with a trailing slash is a directory', async (t) => {
  const { dir, torrent } = setup(t, ONE)
  const r = await download(t, ONE, torrent, join(dir, 'my.iso'))
  assert.equal(r.code, 0, r.err)
  assert.ok(readFileSync(join(dir, 'my.iso')).equals(ONE.data))
  const slash = await download(t, ONE, torrent, join(dir, 'new') + '/')
  assert.equal(slash.code, 0, slash.err)
  assert.deepEqual(readdirSync(join(dir, 'new')), ['one.iso'])
})

test('resume with the same -o: a single file in DIR/NAME.part, or at PATH.part, is finished from what verified', async (t) => {
  const { dir } = setup(t, ONE)
  const s = await seeder(t, ONE)
  const dirOut = join(dir, 'd')
  mkdirSync(dirOut)
  for (const [out, part] of [[dirOut, join(dirOut, 'one.iso.part')], [join(dir, 'f.iso'), join(dir, 'f.iso.part')]] as const) {
    writeFileSync(part, ONE.data.subarray(0, 2 * PL)) // two pieces from an earlier run
    const dl = await downloadToDisk(ONE.meta, out, { peers: [{ host: '127.0.0.1', port: s.port }], trackers: false, dht: false, listen: false })
    await dl.done
    await dl.stop()
    assert.equal(dl.progress.resumed, 2 * PL, `${out}: the two pieces on disk count`)
    assert.ok(!existsSync(part))
    assert.equal(dl.storage.layout.payload, part.slice(0, -'.part'.length))
    assert.ok(readFileSync(dl.storage.layout.payload).equals(ONE.data))
  }
})

test('-o DIR, several files: DIR/NAME/..., and a second run with the same -o finds it complete', async (t) => {
  const { dir, torrent } = setup(t, ALBUM)
  const out = join(dir, 'downloads')
  for (let run = 0; run < 2; run++) {
    const r = await download(t, ALBUM, torrent, out)
    assert.equal(r.code, 0, r.err)
  }
  assert.deepEqual(readdirSync(out), ['album'])
  assert.ok(readFileSync(join(out, 'album', 'cd1', 'a.bin')).equals(A_BIN))
  assert.ok(readFileSync(join(out, 'album', 'b.bin')).equals(B_BIN))
})

test('-o NAME, several files, where NAME holds the files directly (what `create` read): finished in place, no NAME/NAME', async (t) => {
  const { dir, torrent } = setup(t, ALBUM)
  const album = join(dir, 'album')
  mkdirSync(join(album, 'cd1'), { recursive: true })
  writeFileSync(join(album, 'cd1', 'a.bin'), A_BIN)
  writeFileSync(join(album, 'b.bin'), B_BIN.subarray(0, PL)) // cut short
  const r = await download(t, ALBUM, torrent, album)
  assert.equal(r.code, 0, r.err)
  assert.deepEqual(readdirSync(album).sort(), ['b.bin', 'cd1'])
  assert.ok(readFileSync(join(album, 'b.bin')).equals(B_BIN))
})

test('-o DIR under another name that holds a file named like one of the torrent\'s: DIR/NAME is created, that file untouched', async (t) => {
  const { dir, torrent } = setup(t, ALBUM)
  const out = join(dir, 'Downloads')
  mkdirSync(out)
  writeFileSync(join(out, 'b.bin'), 'mine')
  const r = await download(t, ALBUM, torrent, out)
  assert.equal(r.code, 0, r.err)
  assert.equal(readFileSync(join(out, 'b.bin'), 'utf8'), 'mine')
  assert.ok(readFileSync(join(out, 'album', 'b.bin')).equals(B_BIN))
})

test('-o FILE, several files: exit 1, one line saying a directory is needed', async (t) => {
  const { dir, torrent } = setup(t, ALBUM)
  writeFileSync(join(dir, 'f'), 'mine')
  const r = await download(t, ALBUM, torrent, join(dir, 'f'))
  assert.equal(r.code, 1)
  assert.equal(r.err, `bt-stream: ${JSON.stringify(join(dir, 'f'))} is a file; "album" has several files and needs a directory\n`)
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'mine')
})
