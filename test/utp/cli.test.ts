import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { seedFixture } from '../seed/fixture-seed.js'
import { within } from '../wire/helpers.js'
import { utpSkip } from './helpers.js'
import { libtorrentSkip, runLibtorrent } from './libtorrent.js'

// The CLI against libtorrent 2.0 with TCP off (what the "done when" names).
const skip = utpSkip() || libtorrentSkip()
const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname
const SIZE = 2 * 1024 * 1024 + 777

interface Run { code: number | null, stdout: Buffer, stderr: string }
function run (args: string[], ms: number, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  const out: Buffer[] = []
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => out.push(d))
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL') }, ms)
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout: Buffer.concat(out), stderr }) }))
}

async function utpOnlySeeder (t: { after: (fn: () => unknown) => void }): Promise<{ dir: string, payload: Buffer, port: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bt-stream-utp-cli-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const payload = randomBytes(SIZE)
  await writeFile(join(dir, 'data.bin'), payload)
  const lt = runLibtorrent(['seed', join(dir, 'data.bin'), join(dir, 'x.torrent'), '--transport', 'utp', '--piece-kib', '64'])
  t.after(() => lt.stop())
  const { port } = JSON.parse(await lt.line(/^\{/, 60_000)) as { port: number }
  return { dir, payload, port }
}

test('bt-stream x.torrent (default: TCP and uTP) downloads from a libtorrent seeder with TCP off to stdout, byte-identical', { skip }, async (t) => {
  const { dir, payload, port } = await utpOnlySeeder(t)
  const r = await run([join(dir, 'x.torrent'), '--no-trackers', '--no-dht', '--peer', `127.0.0.1:${port}`, '--quiet'], 60_000)
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.stdout.equals(payload), `${r.stdout.length} bytes identical`)
})

test('bt-stream x.torrent -o PATH --utp-only from the same kind of seeder, byte-identical; --no-utp gets nothing from it', { skip }, async (t) => {
  const { dir, payload, port } = await utpOnlySeeder(t)
  const r = await run([join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), '--utp-only', '--no-trackers', '--no-dht', '--peer', `127.0.0.1:${port}`, '--host', '127.0.0.1', '--quiet'], 60_000)
  assert.equal(r.code, 0, r.stderr)
  assert.ok((await readFile(join(dir, 'out.bin'))).equals(payload))
  const tcp = await run([join(dir, 'x.torrent'), '--no-utp', '--no-trackers', '--no-dht', '--peer', `127.0.0.1:${port}`, '--stall-timeout', '3', '--quiet'], 60_000)
  assert.notEqual(tcp.code, 0, 'TCP alone cannot reach a uTP-only peer')
  assert.equal(tcp.stdout.length, 0)
})

test('bt-stream seed serves a libtorrent leecher with TCP off (uTP on the seed\'s port number)', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-stream-utp-cli-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const payload = randomBytes(SIZE)
  await writeFile(join(dir, 'data.bin'), payload)
  const maker = runLibtorrent(['seed', join(dir, 'data.bin'), join(dir, 'x.torrent'), '--transport', 'utp', '--piece-kib', '64'])
  await maker.line(/^\{/, 60_000)
  await maker.stop()
  const seed = spawn(process.execPath, [BIN, 'seed', join(dir, 'x.torrent'), join(dir, 'data.bin'), '--host', '127.0.0.1', '--no-trackers', '--no-dht'], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.after(() => { if (seed.exitCode === null && seed.pid !== undefined) process.kill(seed.pid, 'SIGKILL') })
  let stderr = ''
  const port = await within(30_000, 'the seed\'s port', new Promise<number>((resolve) => {
    seed.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      const m = /on port (\d+)/.exec(stderr)
      if (m !== null) resolve(Number(m[1]))
    })
  }))
  const save = join(dir, 'leech')
  const lt = runLibtorrent(['leech', join(dir, 'x.torrent'), save, `127.0.0.1:${port}`, '--transport', 'utp'])
  t.after(() => lt.stop())
  await lt.line(/^done$/, 60_000)
  assert.ok((await readFile(join(save, 'data.bin'))).equals(payload))
})

test('--no-utp and --utp-only together are a usage error (exit 2)', async () => {
  const torrent = new URL('../../../fixtures/single.torrent', import.meta.url).pathname
  const r = await run([torrent, '--no-utp', '--utp-only', '--no-trackers', '--no-dht'], 30_000)
  assert.equal(r.code, 2)
  assert.match(r.stderr, /--no-utp and --utp-only exclude each other/)
})

test('utp-native cannot load (simulated in the child): the CLI says so once, and downloads over TCP; --utp-only fails with the reason', async (t) => {
  const seed = await seedFixture('single')
  const dir = await mkdtemp(join(tmpdir(), 'bt-stream-utp-cli-'))
  t.after(async () => { await seed.close(); await rm(dir, { recursive: true, force: true }) })
  // A preload that makes require('utp-native') fail as a missing optional dependency does.
  const preload = join(dir, 'no-utp-native.cjs')
  await writeFile(preload, `const Module = require('module')
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, ...rest) {
  if (request === 'utp-native') { const e = new Error("Cannot find module 'utp-native'"); e.code = 'MODULE_NOT_FOUND'; throw e }
  return resolve.call(this, request, ...rest)
}
`)
  await writeFile(join(dir, 'x.torrent'), seed.torrent)
  const env = { ...process.env, NODE_OPTIONS: `--require ${preload}` }
  const r = await run([join(dir, 'x.torrent'), '--no-trackers', '--no-dht', '--peer', `127.0.0.1:${seed.port}`], 60_000, env)
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.stdout.equals(Buffer.from(seed.payload)), 'downloaded over TCP')
  assert.equal(r.stderr.match(/uTP is unavailable: the optional package utp-native \(libutp bindings\) could not be loaded/g)?.length, 1, r.stderr)
  const only = await run([join(dir, 'x.torrent'), '--utp-only', '--no-trackers', '--no-dht', '--peer', `127.0.0.1:${seed.port}`, '--quiet'], 60_000, env)
  assert.notEqual(only.code, 0)
  assert.match(only.stderr, /uTP is unavailable/)
  assert.equal(only.stdout.length, 0)
})
