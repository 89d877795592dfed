import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import bencode from 'bencode'
import { main } from '../../lib/cli/main.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { FIXTURES, fakeIO, fixture } from '../helpers.js'

const path = (name: string): string => fileURLToPath(new URL(name, FIXTURES))

test('decode: a .torrent as JSON; pieces as one hex SHA-1 per piece', async () => {
  const io = fakeIO()
  assert.equal(await main(['decode', path('single.torrent')], io), 0)
  const j = JSON.parse(io.out()) as { announce: string, info: { name: string, length: number, pieces: { hex: string[] } }, 'announce-list': string[][] }
  const m = parseTorrent(fixture('single.torrent'))
  assert.equal(j.announce, 'http://127.0.0.1:6969/announce')
  assert.equal(j.info.name, 'single.bin')
  assert.equal(j.info.length, 100_000)
  assert.equal(j.info.pieces.hex.length, 4)
  assert.equal(j.info.pieces.hex.join(''), Buffer.from(m.pieceHashes).toString('hex'))
  assert.deepEqual(j['announce-list'][1], ['udp://127.0.0.1:6971'])
})

test('decode: byte strings that are not UTF-8 become {"hex": ...}; stdin by default', async () => {
  const io = fakeIO(bencode.encode({ text: 'héllo', bin: Buffer.from([0xff, 0x00, 0x80]), n: -7, l: [1, 'a'] }))
  assert.equal(await main(['decode'], io), 0)
  assert.deepEqual(JSON.parse(io.out()), { bin: { hex: 'ff0080' }, l: [1, 'a'], n: -7, text: 'héllo' })
})

test('decode: invalid bencoding exits 1 with the position; extra arguments exit 2', async () => {
  const io = fakeIO('l-3:e')
  assert.equal(await main(['decode', '-'], io), 1)
  assert.equal(io.err(), 'bt-stream: invalid bencoding at byte 1: expected a value, found \'-\'\n')
  const usage = fakeIO()
  assert.equal(await main(['decode', 'a', 'b'], usage), 2)
  const help = fakeIO()
  assert.equal(await main(['decode', '--help'], help), 0)
  assert.match(help.out(), /^usage: bt-stream decode/)
})

test('decode composes with a pipe: the real binary reading stdin', () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../../bin/bt-stream.js', import.meta.url)), 'decode', '-'],
    { input: fixture('multi.torrent'), timeout: 20_000, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const j = JSON.parse(r.stdout) as { info: { files: { path: string[] }[] } }
  assert.deepEqual(j.info.files.map(f => f.path.join('/')), ['cd1/track01.bin', 'cd1/track02.bin', 'cd2/deep/notes.txt', 'cd2/empty.txt', 'cover.bin'])
})
