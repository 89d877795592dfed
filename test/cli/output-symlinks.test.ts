/**
 * `bt-stream x.torrent -o DIR` never writes outside DIR through a symbolic link below it (issue 10
 * item 6): with an honest seeder ready to serve every piece, a link at DIR/album, or under a file's
 * own name, ends the command with exit 1 and the reason, and nothing lands where the link points.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../lib/cli/main.js'
import { fakeIO } from '../helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent, seededBytes, type MadeTorrent } from '../swarm/fixture-torrent.js'

const PL = 16 * 1024

function setup (t: TestContext, made: MadeTorrent): { dir: string, torrent: string, away: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bt-cli-symlink-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const torrent = join(dir, 'x.torrent')
  writeFileSync(torrent, made.torrent)
  const away = join(dir, 'away')
  mkdirSync(away)
  return { dir, torrent, away }
}

async function download (t: TestContext, made: MadeTorrent, torrent: string, out: string): Promise<{ code: number, err: string, out: string }> {
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(() => seeder.close())
  const io = fakeIO()
  const code = await main([torrent, '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--no-trackers', '--no-dht', '--stall-timeout', '20', '--quiet'], io)
  return { code, err: io.err(), out: io.out() }
}

const ALBUM = makeTorrent({ name: 'album', pieceLength: PL, length: 0, files: [{ path: ['cd1', 'a.bin'], length: PL + 100 }, { path: ['cd2', 'b.bin'], length: 2 * PL + 7 }], data: seededBytes(3 * PL + 107, 51) })
const ONE = makeTorrent({ name: 'one.bin', pieceLength: PL, length: 2 * PL + 9, data: seededBytes(2 * PL + 9, 52) })

test('-o DIR, multi-file: DIR/album -> elsewhere: exit 1, "is a symbolic link", nothing written elsewhere', async (t) => {
  const { dir, torrent, away } = setup(t, ALBUM)
  const out = join(dir, 'out')
  mkdirSync(out)
  symlinkSync(away, join(out, 'album'))
  const r = await download(t, ALBUM, torrent, out)
  assert.equal(r.code, 1, r.err)
  assert.equal(r.err, `bt-stream: ${JSON.stringify(join(out, 'album'))} is a symbolic link; refusing to follow it outside ${JSON.stringify(out)}\n`)
  assert.equal(r.out, '')
  assert.deepEqual(readdirSync(away), [])
})

test('-o DIR, multi-file: a link deeper down (DIR/album/cd2 -> elsewhere): exit 1, nothing written elsewhere', async (t) => {
  const { dir, torrent, away } = setup(t, ALBUM)
  const out = join(dir, 'out')
  mkdirSync(join(out, 'album'), { recursive: true })
  symlinkSync(away, join(out, 'album', 'cd2'))
  const r = await download(t, ALBUM, torrent, out)
  assert.equal(r.code, 1, r.err)
  assert.match(r.err, /cd2" is a symbolic link; refusing to follow it outside /)
  assert.deepEqual(readdirSync(away), [])
})

test('-o FILE, single-file: FILE.part -> a file elsewhere: exit 1, the file elsewhere untouched', async (t) => {
  const { dir, torrent, away } = setup(t, ONE)
  const precious = join(away, 'precious.txt')
  writeFileSync(precious, 'precious')
  const out = join(dir, 'one.bin')
  symlinkSync(precious, out + '.part')
  const r = await download(t, ONE, torrent, out)
  assert.equal(r.code, 1, r.err)
  assert.match(r.err, /one\.bin\.part" is a symbolic link; refusing to follow it outside /)
  assert.deepEqual(readdirSync(away), ['precious.txt'])
  assert.equal(readFileSync(precious, 'utf8'), 'precious')
})

test('-o LINK where the user\'s own DIR is a link: the download goes through it (the root is the user\'s choice)', async (t) => {
  const { dir, torrent, away } = setup(t, ALBUM)
  symlinkSync(away, join(dir, 'link'))
  const r = await download(t, ALBUM, torrent, join(dir, 'link'))
  assert.equal(r.code, 0, r.err)
  assert.deepEqual(readdirSync(join(away, 'album')).sort(), ['cd1', 'cd2'])
})
