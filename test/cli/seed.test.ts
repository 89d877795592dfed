/**
 * `bt-stream seed <torrent> <path>` as a user runs it: verify the data, serve it, stop on Ctrl-C.
 * The leecher is our library download; the seeder is the real binary.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { download } from '../../lib/session/download.js'
import { makeTorrent, seededBytes } from '../swarm/fixture-torrent.js'

const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname

test('bt-stream seed serves verified data to a leecher and stops with exit 130 on SIGINT', async () => {
  const data = seededBytes(2 * 1024 * 1024 + 7, 31)
  const t = makeTorrent({ length: data.length, pieceLength: 64 * 1024, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-'))
  // Written before the seeder starts: it reads them at once.
  writeFileSync(join(dir, 'x.torrent'), t.torrent)
  writeFileSync(join(dir, 'x.bin'), data)
  const child = spawn(process.execPath, [BIN, 'seed', join(dir, 'x.torrent'), join(dir, 'x.bin'), '--host', '127.0.0.1', '--no-trackers', '--no-dht'], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    let stderr = ''
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no port announced: ${stderr}`)), 20_000)
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
        const m = /on port (\d+)/.exec(stderr)
        if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
      })
      child.once('close', () => reject(new Error(`seed exited: ${stderr}`)))
    })
    assert.match(stderr, /seeding "test\.bin" \(33\/33 pieces\)/)
    const parts: Buffer[] = []
    for await (const c of download(t.meta, { peers: [{ host: '127.0.0.1', port }], trackers: false })) parts.push(Buffer.from(c as Uint8Array))
    assert.ok(Buffer.concat(parts).equals(data), 'byte-identical from our seeder')
    const closed = new Promise<number | null>(resolve => child.once('close', resolve))
    child.kill('SIGINT')
    assert.equal(await closed, 130)
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test('bt-stream seed with data that does not verify: exit 1, one line', async () => {
  const t = makeTorrent({ length: 100_000, pieceLength: 16384 })
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-'))
  try {
    writeFileSync(join(dir, 'x.torrent'), t.torrent)
    writeFileSync(join(dir, 'x.bin'), Buffer.alloc(100_000))
    const child = spawn(process.execPath, [BIN, 'seed', join(dir, 'x.torrent'), join(dir, 'x.bin'), '--no-dht'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    const code = await new Promise(resolve => child.once('close', resolve))
    assert.equal(code, 1)
    assert.match(stderr, /^bt-stream: .*x\.bin: no piece of "test\.bin" verifies there; nothing to seed\n$/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('-o PATH --seed: downloads, then seeds what it downloaded (no second hashing pass)', async () => {
  const { startFakeSeeder } = await import('../swarm/fake-seeder.js')
  const data = seededBytes(1024 * 1024 + 3, 32)
  const t = makeTorrent({ length: data.length, pieceLength: 64 * 1024, data })
  const origin = await startFakeSeeder(t.meta, data, { kind: 'honest' })
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-'))
  writeFileSync(join(dir, 'x.torrent'), t.torrent)
  const child = spawn(process.execPath, [BIN, join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), '--seed', '--no-trackers', '--no-dht',
    '--peer', `127.0.0.1:${origin.port}`, '--host', '127.0.0.1', '--progress'], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    let stderr = ''
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no seeding line: ${stderr}`)), 30_000)
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
        const m = /seeding "test\.bin" \(17\/17 pieces\) on port (\d+)/.exec(stderr)
        if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
      })
      child.once('close', () => reject(new Error(`exited: ${stderr}`)))
    })
    assert.match(stderr, /checking existing data/, 'the resume check ran before the download, with --progress shown')
    assert.doesNotMatch(stderr, /checking .*out\.bin/, 'the pieces it verified while downloading are not hashed again for seeding')
    await origin.close()
    const parts: Buffer[] = []
    for await (const c of download(t.meta, { peers: [{ host: '127.0.0.1', port }], trackers: false })) parts.push(Buffer.from(c as Uint8Array))
    assert.ok(Buffer.concat(parts).equals(data), 'served byte-identical by the finished download')
    const closed = new Promise<number | null>(resolve => child.once('close', resolve))
    child.kill('SIGINT')
    assert.equal(await closed, 130)
  } finally {
    child.kill('SIGKILL')
    await origin.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('seed --seed-ratio 1: serves one leecher the whole file, then stops by itself with exit 0; --seed-time stops by the clock', async (t) => {
  const data = seededBytes(512 * 1024 + 5, 33)
  const made = makeTorrent({ length: data.length, pieceLength: 32 * 1024, data })
  const dir = mkdtempSync(join(tmpdir(), 'bt-seed-stop-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'x.torrent'), made.torrent)
  writeFileSync(join(dir, 'x.bin'), data)
  const start = (extra: string[]) => {
    const child = spawn(process.execPath, [BIN, 'seed', join(dir, 'x.torrent'), join(dir, 'x.bin'), '--host', '127.0.0.1', '--no-trackers', '--no-dht', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] })
    t.after(() => { child.kill('SIGKILL') })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    const exit = new Promise<number | null>(resolve => child.once('close', resolve))
    const port = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no port announced: ${stderr}`)), 20_000)
      child.stderr.on('data', () => { const m = /on port (\d+)/.exec(stderr); if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) } })
    })
    return { exit, port, stderr: () => stderr }
  }
  const byRatio = start(['--seed-ratio', '1', '--max-upload-rate', '4M'])
  const parts: Buffer[] = []
  for await (const c of download(made.meta, { peers: [{ host: '127.0.0.1', port: await byRatio.port }], trackers: false })) parts.push(Buffer.from(c as Uint8Array))
  assert.ok(Buffer.concat(parts).equals(data))
  assert.equal(await byRatio.exit, 0, byRatio.stderr())
  assert.match(byRatio.stderr(), /seeding stopped: ratio 1 reached/)
  const byTime = start(['--seed-time', '1'])
  assert.equal(await byTime.exit, 0, byTime.stderr())
  assert.match(byTime.stderr(), /seeding stopped: seed time reached/)
})

test('rate and seeding options are checked: a rate below a block a second, or a ratio that is not a number, is a usage error (exit 2)', async () => {
  const run = async (args: string[]): Promise<{ code: number | null, stderr: string }> => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    return { code: await new Promise<number | null>(resolve => child.once('close', resolve)), stderr }
  }
  const slow = await run(['seed', 'x.torrent', 'x.bin', '--max-upload-rate', '1K'])
  assert.equal(slow.code, 2)
  assert.match(slow.stderr, /--max-upload-rate must be between 16384 and/)
  const ratio = await run(['seed', 'x.torrent', 'x.bin', '--seed-ratio', 'lots'])
  assert.equal(ratio.code, 2)
  assert.match(ratio.stderr, /--seed-ratio must be a number/)
})
