/**
 * `bt-stream serve` as a command (issue 15): the URL on stderr, files served while it runs,
 * `--open CMD` playing the file (serve stops when the player exits), Ctrl-C (the signal) stopping
 * it and removing the cache.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseArgs } from '../../lib/cli/args.js'
import { command, SERVE_OPTIONS } from '../../lib/cli/commands/serve.js'
import { magnetFetchOptions } from '../../lib/cli/swarm-args.js'
import { fakeIO } from '../helpers.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'
import { get, seedMade, tempDir, until } from './helpers.js'

const KiB = 1024

test('serve prints its URL on stderr, serves ranges, and stops on the signal with the cache removed', async (t) => {
  const made = makeTorrent({ length: 300 * KiB, pieceLength: 32 * KiB, name: 'clip.mp4' })
  const peer = await seedMade(t, made)
  const dir = await tempDir(t)
  const torrentPath = join(dir, 'clip.torrent')
  await writeFile(torrentPath, made.torrent)
  const ac = new AbortController()
  const io = { ...fakeIO(), signal: ac.signal }
  const base = fakeIO()
  const run = command([torrentPath, '--peer', `127.0.0.1:${peer.port}`, '--no-trackers', '--no-dht'], { ...io, stderr: base.stderr })
  t.after(() => ac.abort())
  await until(10_000, 'the URL on stderr', () => /http:\/\/127\.0\.0\.1:\d+\//.test(base.err()))
  const url = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(base.err())![1]!
  assert.match(base.err(), /mpv http:\/\/127\.0\.0\.1:\d+\/0\/clip\.mp4/)
  const r = await within(20_000, 'a range', get(`${url}/0/clip.mp4`, { Range: 'bytes=1000-99999' }))
  assert.equal(r.status, 206)
  assert.ok(r.body.equals(made.data.subarray(1000, 100_000)))
  const cache = /cache: ([^)]+)\)/.exec(base.err())![1]!
  assert.ok(existsSync(cache))
  ac.abort()
  assert.equal(await within(10_000, 'serve stops', run), 0)
  assert.equal(existsSync(cache), false, 'the cache directory is removed')
})

test('--open CMD runs the player with the file\'s URL; serve stops when it exits; -o DIR keeps the data', async (t) => {
  const made = makeTorrent({ length: 200 * KiB, pieceLength: 32 * KiB, name: 'song.mp3' })
  const peer = await seedMade(t, made)
  const dir = await tempDir(t)
  const torrentPath = join(dir, 'song.torrent')
  await writeFile(torrentPath, made.torrent)
  // A "player" that reads the whole URL into a file and exits.
  const player = join(dir, 'player.mjs')
  const got = join(dir, 'got.bin')
  await writeFile(player, `import http from 'node:http'; import fs from 'node:fs'
http.get(process.argv[2], res => res.pipe(fs.createWriteStream(${JSON.stringify(got)})).on('finish', () => process.exit(0)))`)
  const io = fakeIO()
  const out = join(dir, 'keep')
  const code = await within(30_000, 'serve with --open', command([torrentPath, '--peer', `127.0.0.1:${peer.port}`, '--no-trackers', '--no-dht', '-o', out, '--open', `${process.execPath} ${player}`], io))
  assert.equal(code, 0, io.err())
  assert.ok((await readFile(got)).equals(made.data))
  assert.ok(existsSync(join(out, 'song.mp3')) || existsSync(join(out, 'song.mp3.part')), '-o DIR keeps what was downloaded, in DIR/NAME')
})

test('serve --port is the HTTP port: a magnet\'s metadata fetch takes its BitTorrent port from --peer-port, never --port', () => {
  const magnet = `magnet:?xt=urn:btih:${'ab'.repeat(20)}`
  assert.equal(magnetFetchOptions(parseArgs([magnet, '--port', '8080', '--peer-port', '6999'], SERVE_OPTIONS), undefined, 'peer-port').port, 6999)
  assert.equal(magnetFetchOptions(parseArgs([magnet, '--port', '8080'], SERVE_OPTIONS), undefined, 'peer-port').port, undefined)
})

test('serve --progress: the line counts what went up, and once the torrent is complete it is the seeding line', async (t) => {
  const made = makeTorrent({ length: 100 * KiB, pieceLength: 32 * KiB, name: 'clip.mp4' })
  const peer = await seedMade(t, made)
  const dir = await tempDir(t)
  const torrentPath = join(dir, 'clip.torrent')
  await writeFile(torrentPath, made.torrent)
  const ac = new AbortController()
  const base = fakeIO()
  const run = command([torrentPath, '--peer', `127.0.0.1:${peer.port}`, '--no-trackers', '--no-dht', '--progress'], { ...base, signal: ac.signal })
  t.after(() => ac.abort())
  await until(20_000, 'the seeding line', () => /seeding {2}up 0 B \(0 B\/s\) {2}ratio 0\.00 {2}\d+ peers?/.test(base.err()))
  ac.abort()
  assert.equal(await within(10_000, 'serve stops', run), 0)
})
