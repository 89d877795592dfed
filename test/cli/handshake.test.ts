import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { main } from '../../lib/cli/main.js'
import { acceptPeer } from '../../lib/wire/connect.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'

const INFO_HASH_HEX = 'c'.repeat(40)

async function run (argv: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: Buffer[] = []
  const err: Buffer[] = []
  stdout.on('data', (c: Buffer) => out.push(c))
  stderr.on('data', (c: Buffer) => err.push(c))
  const code = await main(argv, { stdin: new PassThrough(), stdout, stderr, signal: new AbortController().signal })
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }
}

/** A peer (our own PeerConnection, inbound) that serves INFO_HASH_HEX only. */
async function peer (): Promise<{ port: number, close: () => Promise<void> }> {
  const conns: PeerConnection[] = []
  const server: Server = createServer((socket) => {
    acceptPeer(socket, {
      accept: (ih) => Buffer.from(ih).toString('hex') === INFO_HASH_HEX,
      dht: true,
      extensions: { m: { ut_metadata: 2 }, metadataSize: 4321, port: 51413 }
    }).then((c) => { conns.push(c); c.on('error', () => {}); c.resume() }, () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  return { port: addr.port, close: async () => { for (const c of conns) c.destroy(); await new Promise<void>((resolve) => server.close(() => resolve())) } }
}

test('bt-stream handshake prints the peer id, its client, reserved bits and extension handshake', async () => {
  const p = await peer()
  try {
    const text = await run(['handshake', INFO_HASH_HEX, `127.0.0.1:${p.port}`, '--timeout', '5'])
    assert.equal(text.stderr, '')
    assert.equal(text.code, 0)
    assert.match(text.stdout, /^peer id +2d6273303130302d[0-9a-f]{24} +"-bs0100-/m)
    assert.match(text.stdout, /^client +bt-stream 0\.1\.0\.0$/m)
    assert.match(text.stdout, /^reserved +0000000000100005 +extension protocol \(BEP 10\), fast extension \(BEP 6\), DHT \(BEP 5\)$/m)
    assert.match(text.stdout, /^ {2}m +ut_metadata=2$/m)
    assert.match(text.stdout, /^ {2}metadata_size 4321$/m)

    const json = await run(['handshake', INFO_HASH_HEX, `127.0.0.1:${p.port}`, '--json'])
    assert.equal(json.code, 0)
    const j = JSON.parse(json.stdout) as Record<string, unknown>
    assert.equal(j.infoHash, INFO_HASH_HEX)
    assert.deepEqual(j.client, { name: 'bt-stream', version: '0.1.0.0' })
    assert.deepEqual(j.extensions, { extended: true, fast: true, dht: true })
    assert.deepEqual(j.extendedHandshake, { m: { ut_metadata: 2 }, v: 'bt-stream 0.1.0', p: 51413, reqq: 250, metadata_size: 4321, yourip: '127.0.0.1' })
  } finally { await p.close() }
})

test('bt-stream handshake: a peer that does not serve the torrent, or no peer, is exit 1 with one line', async () => {
  const p = await peer()
  try {
    const refused = await run(['handshake', 'd'.repeat(40), `127.0.0.1:${p.port}`, '--timeout', '5'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^bt-stream: .*handshake.*\n$/)
  } finally { await p.close() }
  const gone = await run(['handshake', INFO_HASH_HEX, `127.0.0.1:${p.port}`, '--timeout', '5'])
  assert.equal(gone.code, 1)
  assert.match(gone.stderr, /^bt-stream: cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/)
})

test('bt-stream handshake: usage errors are exit 2', async () => {
  for (const argv of [
    ['handshake'],
    ['handshake', INFO_HASH_HEX],
    ['handshake', INFO_HASH_HEX, '127.0.0.1'],
    ['handshake', INFO_HASH_HEX, '127.0.0.1:70000'],
    ['handshake', INFO_HASH_HEX, '127.0.0.1:1', '--bogus']
  ]) {
    const r = await run(argv)
    assert.equal(r.code, 2, argv.join(' '))
    assert.match(r.stderr, /see bt-stream --help/)
  }
  const missing = await run(['handshake', 'no-such.torrent', '127.0.0.1:1'])
  assert.equal(missing.code, 1, 'a torrent file that is not there is a failure, not a usage error')
  assert.match(missing.stderr, /cannot open no-such\.torrent/)
  const help = await run(['handshake', '--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /usage: bt-stream handshake/)
})
