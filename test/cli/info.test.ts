import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { main } from '../../lib/cli/main.js'
import { FIXTURES, expected, fakeIO, fixture } from '../helpers.js'

const path = (name: string): string => fileURLToPath(new URL(name, FIXTURES))
const BIN = fileURLToPath(new URL('../../../bin/bt-stream.js', import.meta.url))

test('info <file>: hash, name, sizes, pieces, files, trackers, private flag', async () => {
  const io = fakeIO()
  assert.equal(await main(['info', path('multi.torrent')], io), 0)
  const out = io.out()
  assert.match(out, new RegExp(`^info hash: +${expected.multi?.infoHashV1 ?? 'missing'}$`, 'm'))
  assert.match(out, /^name: +album$/m)
  assert.match(out, /^total size: +68\.6 KiB \(70257 bytes\)$/m)
  assert.match(out, /^piece length: +32 KiB \(32768 bytes\)$/m)
  assert.match(out, /^pieces: +3 \(last piece 4\.61 KiB \(4721 bytes\)\)$/m)
  assert.match(out, /^private: +no$/m)
  assert.match(out, /^ {2}tier 1: http:\/\/127\.0\.0\.1:6969\/announce$/m)
  assert.match(out, /^files \(5\):$/m)
  assert.match(out, /^ {2}39\.1 KiB {2}album\/cd1\/track01\.bin$/m)
  assert.match(out, /^ {7}0 B {2}album\/cd2\/empty\.txt$/m)
  assert.equal(io.err(), '')
})

test('info --json: the same facts as one JSON object', async () => {
  const io = fakeIO()
  assert.equal(await main(['info', '--json', path('tiny.torrent')], io), 0)
  const j = JSON.parse(io.out()) as Record<string, unknown>
  assert.equal(j.kind, 'torrent')
  assert.equal(j.infoHash, expected.tiny?.infoHashV1)
  assert.equal(j.name, 'tiny.txt')
  assert.equal(j.length, 13)
  assert.equal(j.pieceLength, 32768)
  assert.equal(j.pieceCount, 1)
  assert.equal(j.private, true)
  assert.deepEqual(j.files, [{ path: 'tiny.txt', rawPath: ['tiny.txt'], length: 13, offset: 0, padding: false }])
  assert.deepEqual(j.announce, [['http://127.0.0.1:6969/announce']])
})

test('info -: reads the .torrent from stdin', async () => {
  const io = fakeIO(fixture('single.torrent'))
  assert.equal(await main(['info', '--json', '-'], io), 0)
  assert.equal((JSON.parse(io.out()) as { infoHash: string }).infoHash, expected.single?.infoHashV1)
})

test('info --no-fetch magnet:?...: prints what the magnet holds, contacting nobody', async () => {
  const io = fakeIO()
  const uri = `magnet:?xt=urn:btih:${expected.single?.infoHashV1 ?? ''}&dn=single.bin&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&x.pe=[::1]:6881&so=0`
  assert.equal(await main(['info', '--no-fetch', '--json', uri], io), 0)
  assert.deepEqual(JSON.parse(io.out()), {
    kind: 'magnet',
    infoHash: expected.single?.infoHashV1,
    name: 'single.bin',
    trackers: ['http://127.0.0.1:6969/announce'],
    peers: [{ host: '::1', port: 6881 }],
    webSeeds: [],
    selectOnly: [0]
  })
  const text = fakeIO()
  assert.equal(await main(['info', '--no-fetch', uri], text), 0)
  assert.match(text.out(), /^metadata: +not fetched/m)
  assert.match(text.out(), /^ {2}\[::1\]:6881$/m)
})

test('info: malformed input is one line on stderr and exit 1, never a stack', async () => {
  for (const [args, message] of [
    [[path('malformed/pieces-37.torrent')], 'bt-stream: info.pieces length 37 is not a multiple of 20\n'],
    [['magnet:?xt=urn:btih:123'], 'bt-stream: urn:btih: "123" is neither 40 hex digits nor 32 base32 characters\n'],
    [[path('does-not-exist.torrent')], `bt-stream: cannot open ${path('does-not-exist.torrent')}: no such file or directory (ENOENT)\n`],
    [[path('data')], `bt-stream: ${path('data')} is a directory\n`]
  ] as const) {
    const io = fakeIO()
    assert.equal(await main(['info', ...args], io), 1)
    assert.equal(io.err(), message)
    assert.equal(io.out(), '')
  }
})

test('info: usage errors exit 2; --help exits 0', async () => {
  for (const args of [['info'], ['info', 'a', 'b'], ['info', '--bogus', 'x']]) {
    const io = fakeIO()
    assert.equal(await main(args, io), 2)
    assert.match(io.err(), /\(see bt-stream --help\)/)
  }
  const io = fakeIO()
  assert.equal(await main(['info', '--help'], io), 0)
  assert.match(io.out(), /^usage: bt-stream info/)
})

test('info: a hostile name cannot send escape sequences to the terminal', async () => {
  const bencode = (await import('bencode')).default
  const torrent = bencode.encode({ info: { name: 'evil\x1b]0;pwned\x07\nfake: line', 'piece length': 16384, length: 1, pieces: new Uint8Array(20) } })
  const io = fakeIO(torrent)
  assert.equal(await main(['info', '-'], io), 0)
  assert.match(io.out(), /^name: +evil\\x1b\]0;pwned\\x07\\x0afake: line$/m)
  assert.ok(!io.out().includes('\x1b'))
})

test('bin/bt-stream.js: exit codes 0, 1, 2 and stdin "-" through a real process', () => {
  const run = (args: string[], input?: Buffer) => spawnSync(process.execPath, [BIN, ...args], { input, timeout: 20_000, encoding: 'utf8' })
  const ok = run(['info', '-'], fixture('single.torrent'))
  assert.equal(ok.status, 0, ok.stderr)
  assert.match(ok.stdout, new RegExp(`info hash: +${expected.single?.infoHashV1 ?? 'missing'}`))
  const bad = run(['info', path('malformed/truncated.torrent')])
  assert.equal(bad.status, 1)
  assert.equal(bad.stderr, 'bt-stream: invalid bencoding at byte 223: string of length 13 runs past the end of the data (8 bytes left)\n')
  const usage = run(['info'])
  assert.equal(usage.status, 2)
})
