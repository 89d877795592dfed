/**
 * Messages a new user meets (issue 11): a typo of a command says so, a .torrent by URL is
 * fetched, system errors are in words, every timeout is in seconds, the help says what `-o` does.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { editDistance, main, nearestCommand } from '../../lib/cli/main.js'
import { checkFileOption } from '../../lib/cli/file-option.js'
import { UsageError } from '../../lib/util/errors.js'
import { fakeIO, fixture, expected } from '../helpers.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'

test('an unknown command says so and names the nearest one (edit distance), exit 2', async () => {
  for (const [word, near] of [['infoo', 'info'], ['sed', 'seed'], ['peer', 'peers'], ['crate', 'create'], ['handshak', 'handshake']] as const) {
    const io = fakeIO()
    assert.equal(await main([word, 'x.torrent'], io), 2)
    assert.equal(io.err(), `bt-stream: unknown command "${word}"; did you mean "${near}"?\n(see bt-stream --help)\n`)
  }
  const far = fakeIO()
  assert.equal(await main(['frobnicate'], far), 2)
  assert.match(far.err(), /^bt-stream: unknown command "frobnicate" \(and no file of that name\); commands: create, decode, download, handshake, info, peers, piece, seed, serve\n/)
  // A file name is a file, even next to a command's name.
  const file = fakeIO()
  assert.equal(await main(['seed.torrent'], file), 1)
  assert.equal(file.err(), 'bt-stream: cannot open seed.torrent: no such file or directory (ENOENT)\n')
  assert.equal(editDistance('infoo', 'info'), 1)
  assert.equal(nearestCommand('x'), undefined)
})

test('system errors are in words with their code: no such file or directory (ENOENT), connection refused (ECONNREFUSED)', async () => {
  const io = fakeIO()
  assert.equal(await main(['info', '/nonexistent/x.torrent'], io), 1)
  assert.equal(io.err(), 'bt-stream: cannot open /nonexistent/x.torrent: no such file or directory (ENOENT)\n')
  const dial = fakeIO()
  assert.equal(await main(['handshake', 'ab'.repeat(20), '127.0.0.1:1', '--timeout', '5'], dial), 1)
  assert.equal(dial.err(), 'bt-stream: cannot connect to 127.0.0.1:1: connection refused (nothing listening there) (ECONNREFUSED)\n')
})

test('every timeout option is in seconds: handshake --timeout too', async () => {
  const io = fakeIO()
  assert.equal(await main(['handshake', 'ab'.repeat(20), '127.0.0.1:1', '--timeout', '5000'], io), 2)
  assert.match(io.err(), /^bt-stream: --timeout must be between 0\.1 and 600 seconds, got 5000\n/)
  const help = fakeIO()
  assert.equal(await main(['handshake', '--help'], help), 0)
  assert.match(help.out(), /--timeout <s> .*in seconds \(default 10\)/)
  for (const cmd of [[], ['peers'], ['piece'], ['seed'], ['info']]) {
    const h = fakeIO()
    await main([...cmd, '--help'], h)
    assert.doesNotMatch(h.out(), /timeout[^\n]*\bms\b|<ms>/, `${cmd.join(' ')} --help: ${h.out()}`)
  }
  const half = fakeIO()
  assert.equal(await main(['peers', 'x.torrent', '--timeout', 'soon'], half), 2)
  assert.match(half.err(), /--timeout must be a number of seconds, got "soon"/)
})

test('bt-stream --help: one line per command, the download options, and what -o means', async () => {
  const io = fakeIO()
  assert.equal(await main(['--help'], io), 0)
  const text = io.out()
  for (const c of ['create', 'decode', 'download', 'handshake', 'info', 'peers', 'piece', 'seed']) assert.match(text, new RegExp(`^ {2}${c} +\\S.+$`, 'm'))
  assert.match(text, /^ {2}-o PATH +write to disk instead of stdout/m)
  assert.match(text, /PATH an existing directory: the torrent lands inside it, as PATH\/NAME/)
  for (const o of ['--file', '--seed', '--json', '--progress', '--quiet', '--stall-timeout', '--peer', '--no-dht']) assert.ok(text.includes(o), o)
})

async function serve (handler: (path: string, res: import('node:http').ServerResponse) => void): Promise<{ base: string, server: Server }> {
  const server = createServer((req, res) => handler(req.url ?? '', res))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

test('a .torrent by http(s) URL is fetched (redirects followed, size bounded) as aria2 and webtorrent-cli do', async () => {
  const torrent = fixture('single.torrent')
  const { base, server } = await serve((path, res) => {
    if (path === '/x.torrent') res.end(torrent)
    else if (path === '/moved') { res.writeHead(302, { location: '/x.torrent' }); res.end() }
    else if (path === '/huge') { res.writeHead(200, { 'content-length': String(100 * 1024 * 1024) }); res.flushHeaders() }
    else { res.writeHead(404); res.end() }
  })
  try {
    for (const path of ['/x.torrent', '/moved']) {
      const io = fakeIO()
      assert.equal(await main(['info', '--json', base + path], io), 0, io.err())
      assert.equal((JSON.parse(io.out()) as { infoHash: string }).infoHash, expected.single?.infoHashV1)
    }
    const missing = fakeIO()
    assert.equal(await main(['info', `${base}/gone.torrent`], missing), 1)
    assert.equal(missing.err(), `bt-stream: cannot fetch ${base}/gone.torrent: HTTP 404\n`)
    const huge = fakeIO()
    assert.equal(await main(['info', `${base}/huge`], huge), 1)
    assert.match(huge.err(), /^bt-stream: cannot fetch .*\/huge: response too large \(Content-Length 104857600, limit 67108864 bytes\)\n$/)
    // The download command takes a URL as its source too (it fails later, for want of peers).
    const dl = fakeIO()
    const made = makeTorrent({ length: 1000, pieceLength: 16384 })
    void made
    assert.equal(await main([`${base}/x.torrent`, '--no-trackers', '--no-dht', '-o', '/nonexistent-dir/x'], dl), 1)
    assert.doesNotMatch(dl.err(), /cannot open|unknown command/, dl.err())
  } finally {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
})

test('--file errors name the flag in the CLI; the library\'s own wording is its own', () => {
  const multi = makeTorrent({ length: 0, pieceLength: 16384, name: 'album', files: [{ path: ['a.bin'], length: 100 }, { path: ['b.bin'], length: 200 }] })
  assert.throws(() => checkFileOption(multi.meta, [], true), (err: unknown) => err instanceof UsageError && /^"album" holds 2 files; choose one with --file/.test(err.message))
  assert.throws(() => checkFileOption(multi.meta, ['7'], false), /^UsageError: --file 7: no such file; the torrent holds:\n {2}0 {2}album\/a\.bin/)
  checkFileOption(multi.meta, [], false)
  checkFileOption(multi.meta, ['album/b.bin'], true)
})

test('library errors do not mention CLI flags (the flag wording lives in lib/cli)', () => {
  const root = new URL('../../../lib/', import.meta.url).pathname
  const offenders: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) { if (name !== 'cli') walk(p); continue }
      if (!p.endsWith('.ts')) continue
      readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
        if (/(Error|reject)\(.*`[^`]*--[a-z]/.test(line)) offenders.push(`${p.slice(root.length)}:${i + 1}`)
      })
    }
  }
  walk(root)
  assert.deepEqual(offenders, [])
})

test('one table puts system errors in words, through causes and in joined messages', async () => {
  const { messageInWords, describeSystemError } = await import('../../lib/util/errors.js')
  assert.equal(messageInWords(new Error('all trackers failed: http://127.0.0.1:9/announce: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:9; udp://x:1: timed out')),
    'all trackers failed: http://127.0.0.1:9/announce: connection refused (nothing listening there) (ECONNREFUSED); udp://x:1: timed out')
  assert.equal(messageInWords(new Error('cannot listen on port 80: listen EACCES: permission denied 0.0.0.0:80')), 'cannot listen on port 80: permission denied (EACCES)')
  const cause = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC' })
  assert.equal(messageInWords(new Error(`cannot write x: ${cause.message}`, { cause })), 'cannot write x: no space left on device (ENOSPC)')
  assert.equal(describeSystemError(Object.assign(new Error('whatever'), { code: 'ENOENT' })), 'no such file or directory (ENOENT)')
  assert.equal(describeSystemError(new Error('plain\nsecond line')), 'plain')
})
