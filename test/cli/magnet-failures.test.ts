/**
 * A magnet whose peers give no valid metadata (issue 10 item 5) must not "succeed" with nothing
 * written: the real binary, stdout a pipe, exit 1 and a reason on stderr that names what the peers
 * did, for stdout, `-o` and `info`. Peers: a closed port, and a fake BEP 9 peer whose metadata
 * does not hash to the magnet's info hash. And a peer that refused at first is dialed again.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MetadataResponder } from '../../lib/extensions/metadata-responder.js'
import { acceptPeer, type PeerConnection } from '../../lib/wire/index.js'
import { attach, metadataSeeder, ourExtensions } from '../extensions/wire-peers.js'
import { infoDict } from '../extensions/helpers.js'

const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname

/** Long enough for a loaded 2-core machine; the CLI is told 2 s. */
const CHILD_LIMIT_MS = 60_000

interface Run { code: number | null, stdout: number, stderr: string, ms: number }

function run (t: TestContext, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
    let stdout = 0
    let stderr = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`bt-stream ${args.join(' ')} did not finish: ${stderr}`)) }, CHILD_LIMIT_MS)
    child.stdout?.on('data', (c: Buffer) => { stdout += c.length })
    child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('close', code => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: Date.now() - started }) })
  })
}

/** A port nobody listens on: bound, then released. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  await new Promise<void>(resolve => server.close(() => resolve()))
  return a.port
}

function tempDir (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'bt-magnet-fail-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const REAL = infoDict(40, 5)
const magnetOf = (infoHash: Uint8Array): string => `magnet:?xt=urn:btih:${Buffer.from(infoHash).toString('hex')}&dn=x`
const COMMON = ['--no-dht', '--no-trackers', '--metadata-timeout', '2', '--quiet']

/** Each mode: the args around the magnet, and the -o directory to check stayed empty. */
function modes (t: TestContext, magnet: string): Array<{ name: string, args: string[], dir?: string }> {
  const dir = tempDir(t)
  return [
    { name: 'stdout', args: [magnet] },
    { name: '-o', args: [magnet, '-o', join(dir, 'out')], dir },
    { name: 'info', args: ['info', magnet] }
  ]
}

test('BEP 9: a magnet whose only peer refuses the connection keeps trying until --metadata-timeout, then exits 1 naming it; stdout, -o and info', async (t) => {
  const port = await closedPort()
  const magnet = magnetOf(REAL.infoHash)
  for (const m of modes(t, magnet)) {
    const r = await run(t, [...m.args, ...COMMON, '--peer', `127.0.0.1:${port}`])
    assert.equal(r.code, 1, `${m.name}: ${r.stderr}`)
    assert.equal(r.stderr, 'bt-stream: no metadata within 2 s: 1 peer refused the connection\n', m.name)
    assert.equal(r.stdout, 0, `${m.name}: nothing on stdout`)
    // It waited for the deadline (it redials the peer meanwhile), it did not give up at once.
    assert.ok(r.ms >= 1900, `${m.name}: exited after ${r.ms} ms, before the 2 s deadline`)
    if (m.dir !== undefined) assert.deepEqual(readdirSync(m.dir), [], `${m.name}: nothing written`)
  }
})

test('BEP 9: a magnet whose only peer sends metadata that does not hash to the info hash exits 1 naming it; stdout, -o and info', async (t) => {
  // The peer holds another torrent's info dict and serves it for our info hash.
  const lie = infoDict(40, 6)
  const seeder = await metadataSeeder(REAL.infoHash, new MetadataResponder({ infoBytes: lie.bytes }), ourExtensions({ metadataSize: lie.bytes.length }))
  t.after(() => seeder.close())
  const magnet = magnetOf(REAL.infoHash)
  for (const m of modes(t, magnet)) {
    const r = await run(t, [...m.args, ...COMMON, '--peer', `127.0.0.1:${seeder.port}`])
    assert.equal(r.code, 1, `${m.name}: ${r.stderr}`)
    assert.match(r.stderr, /^bt-stream: no valid metadata from any peer: 1 peer sent metadata that does not hash to the info hash; no tracker or DHT to ask for other peers\n$/, m.name)
    assert.equal(r.stdout, 0, `${m.name}: nothing on stdout`)
    if (m.dir !== undefined) assert.deepEqual(readdirSync(m.dir), [], `${m.name}: nothing written`)
  }
})

test('BEP 9: with a liar and a refusing peer the reason counts both', async (t) => {
  const lie = infoDict(40, 6)
  const seeder = await metadataSeeder(REAL.infoHash, new MetadataResponder({ infoBytes: lie.bytes }), ourExtensions({ metadataSize: lie.bytes.length }))
  t.after(() => seeder.close())
  const port = await closedPort()
  const r = await run(t, ['info', magnetOf(REAL.infoHash), ...COMMON, '--peer', `127.0.0.1:${port},127.0.0.1:${seeder.port}`])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /^bt-stream: no metadata within 2 s: (1 peer refused the connection, 1 sent metadata that does not hash to the info hash|1 peer sent metadata that does not hash to the info hash, 1 refused the connection)\n$/)
  assert.equal(r.stdout, 0)
})

test('BEP 9: a peer that refused at first is dialed again, and its metadata arrives once it listens', async (t) => {
  const port = await closedPort()
  const conns: PeerConnection[] = []
  const responder = new MetadataResponder({ infoBytes: REAL.bytes })
  const server: Server = createServer(socket => {
    socket.on('error', () => {})
    acceptPeer(socket, { accept: ih => Buffer.from(ih).equals(REAL.infoHash), extensions: ourExtensions({ metadataSize: REAL.bytes.length }), handshakeTimeout: 5000 })
      .then(conn => { conns.push(conn); attach(conn, { responder }) }, () => {})
  })
  t.after(async () => {
    for (const c of conns) c.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
  const running = run(t, ['info', '--json', magnetOf(REAL.infoHash), '--no-dht', '--no-trackers', '--metadata-timeout', '30', '--quiet', '--peer', `127.0.0.1:${port}`])
  // The first dial is refused; the peer starts listening a moment later.
  await new Promise(resolve => setTimeout(resolve, 1500))
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  const r = await running
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, '')
  assert.ok(r.stdout > 0, 'the info was printed')
})

test('BEP 9: a magnet whose only peer closes during the handshake (it requires encryption) says so', async (t) => {
  const server: Server = createServer(socket => {
    socket.on('error', () => {})
    // An MSE-only client finds no DH key in our plaintext handshake and hangs up.
    socket.once('data', () => socket.end())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>(resolve => server.close(() => resolve())))
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  const r = await run(t, ['info', magnetOf(REAL.infoHash), ...COMMON, '--peer', `127.0.0.1:${a.port}`])
  assert.equal(r.code, 1, r.stderr)
  assert.equal(r.stderr, 'bt-stream: no metadata within 2 s: 1 peer closed the connection during the handshake (they may require encryption)\n')
  assert.equal(r.stdout, 0)
})
