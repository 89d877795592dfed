/**
 * `bt-stream file.torrent > out` as a user runs it: the real binary, a real local swarm
 * (webtorrent seeders, bittorrent-tracker), stdout a pipe.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { seededBytes, makeTorrent } from '../swarm/fixture-torrent.js'
import { startLocalSwarm } from '../e2e/local-swarm.js'

const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname

interface Run { code: number | null, signal: NodeJS.Signals | null, stdoutHash: string, stdoutBytes: number, stderr: string }

/**
 * Runs the CLI; `readBytes` closes stdout after that many bytes, as `| head -c` does. `stdoutFd`:
 * stdout is that descriptor (a file, as `> file` gives), not a pipe; nothing is read of it here.
 */
function run (args: string[], opts: { readBytes?: number, killAfterBytes?: number, stdoutFd?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', opts.stdoutFd ?? 'pipe', 'pipe'] })
    const hash = createHash('sha1')
    let bytes = 0
    let stderr = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`bt-stream ${args.join(' ')} did not finish: ${stderr}`)) }, 90_000) // past the CLI's 60 s stall timeout, so a stall shows its own reason
    child.stdout?.on('data', (chunk: Buffer) => {
      if (opts.readBytes !== undefined && bytes >= opts.readBytes) return
      const take = opts.readBytes === undefined ? chunk : chunk.subarray(0, opts.readBytes - bytes)
      hash.update(take)
      bytes += take.length
      if (opts.readBytes !== undefined && bytes >= opts.readBytes) child.stdout?.destroy()
      if (opts.killAfterBytes !== undefined && bytes >= opts.killAfterBytes) { opts.killAfterBytes = undefined; child.kill('SIGINT') }
    })
    child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdoutHash: hash.digest('hex'), stdoutBytes: bytes, stderr }) })
  })
}

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

/** Runs `fn` with `torrent` written to a temporary .torrent file, removed afterwards. */
async function withTorrentFile<T> (torrent: Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-cli-'))
  try {
    const path = join(dir, 'x.torrent')
    writeFileSync(path, torrent)
    return await fn(path)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('bt-stream file.torrent > out: the whole file, in order, exit 0', async () => {
  const data = seededBytes(3 * 1024 * 1024 + 5, 11)
  const swarm = await startLocalSwarm([{ name: 'f.bin', data }], { seeders: 2, pieceLength: 128 * 1024 })
  try {
    await withTorrentFile(swarm.torrent, async torrent => {
      const r = await run([torrent])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdoutBytes, data.length)
      assert.equal(r.stdoutHash, sha1(data))
      assert.equal(r.stderr, '', 'stdout carries the bytes; stderr stays quiet when not a terminal')
    })
  } finally {
    await swarm.close()
  }
})

test('bt-stream file.torrent > file (stdout a regular file, written in whole pieces): the exact file, and --json counts every byte', async () => {
  const data = seededBytes(3 * 1024 * 1024 + 5, 12)
  const swarm = await startLocalSwarm([{ name: 'f.bin', data }], { seeders: 2, pieceLength: 128 * 1024 })
  const dir = mkdtempSync(join(tmpdir(), 'bt-cli-file-'))
  try {
    await withTorrentFile(swarm.torrent, async torrent => {
      const out = join(dir, 'out.bin')
      const fd = openSync(out, 'w')
      const r = await run([torrent, '--json'], { stdoutFd: fd }).finally(() => { closeSync(fd) })
      assert.equal(r.code, 0, r.stderr)
      assert.equal(sha1(readFileSync(out)), sha1(data))
      const summary = r.stderr.split('\n').filter(l => l.includes('"summary"')).map(l => JSON.parse(l) as { ok: boolean, bytes: number })[0]
      assert.deepEqual([summary?.ok, summary?.bytes], [true, data.length], r.stderr)
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await swarm.close()
  }
})

test('| head -c 1000000: a closed pipe ends quietly with exit 0', async () => {
  const data = seededBytes(16 * 1024 * 1024, 12)
  const swarm = await startLocalSwarm([{ name: 'f.bin', data }], { seeders: 1, pieceLength: 256 * 1024 })
  try {
    await withTorrentFile(swarm.torrent, async torrent => {
      const r = await run([torrent], { readBytes: 1_000_000 })
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdoutHash, sha1(data.subarray(0, 1_000_000)))
      assert.equal(r.stderr, '')
    })
  } finally {
    await swarm.close()
  }
})

test('SIGINT stops cleanly: exit 130, one line on stderr, only the file\'s bytes on stdout, a BEP 3 "stopped" announce', async () => {
  const data = seededBytes(64 * 1024 * 1024, 13)
  const swarm = await startLocalSwarm([{ name: 'f.bin', data }], { seeders: 1, pieceLength: 256 * 1024 })
  try {
    const stopped: string[] = []
    swarm.tracker.on('stop', (addr: string) => stopped.push(addr))
    await withTorrentFile(swarm.torrent, async torrent => {
      const r = await run([torrent, '--window', '2M'], { killAfterBytes: 1 })
      assert.equal(r.code, 130, r.stderr)
      assert.equal(r.stderr, 'bt-stream: interrupted\n')
      assert.ok(r.stdoutBytes < data.length, 'stopped before the end')
      assert.equal(r.stdoutHash, sha1(data.subarray(0, r.stdoutBytes)), 'what reached stdout is the start of the file')
      assert.equal(stopped.length, 1, 'the tracker was told we left')
    })
  } finally {
    await swarm.close()
  }
})

test('a multi-file torrent to stdout without --file exits 2 and lists the files', async () => {
  const t = makeTorrent({ length: 0, pieceLength: 16384, name: 'album', files: [{ path: ['a.bin'], length: 100 }, { path: ['sub', 'b.bin'], length: 200 }] })
  await withTorrentFile(t.torrent, async torrent => {
    const r = await run([torrent])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /holds 2 files; choose one with --file/)
    assert.match(r.stderr, /0 {2}album\/a\.bin/)
    assert.match(r.stderr, /1 {2}album\/sub\/b\.bin/)
    assert.equal(r.stdoutBytes, 0)
  })
})

test('--host without -o exits 2: only a download to disk accepts peers (stdout never listens)', async () => {
  const t = makeTorrent({ length: 100, pieceLength: 16384 })
  const dir = mkdtempSync(join(tmpdir(), 'bt-cli-'))
  try {
    const torrent = join(dir, 'x.torrent')
    writeFileSync(torrent, t.torrent)
    const r = await run([torrent, '--host', '127.0.0.1', '--no-trackers'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--host needs -o PATH/)
    assert.equal(r.stdoutBytes, 0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('no reachable tracker and no peer: exit 1 with a one-line reason', async () => {
  const { deadPort } = await import('../helpers.js')
  const port = await deadPort('tcp')
  const t = makeTorrent({ length: 100_000, pieceLength: 16384, announce: `http://127.0.0.1:${port}/announce` })
  await withTorrentFile(t.torrent, async torrent => {
    const r = await run([torrent, '--stall-timeout', '5', '--no-dht'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, new RegExp(`^bt-stream: (all trackers failed: http://127\\.0\\.0\\.1:${port}/announce|no peers found)`))
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  })
})

test('bt-stream piece <torrent> <index>: one verified piece on stdout; out of range is a usage error', async () => {
  const data = seededBytes(1024 * 1024 + 100, 14)
  const swarm = await startLocalSwarm([{ name: 'f.bin', data }], { seeders: 1, pieceLength: 64 * 1024 })
  try {
    await withTorrentFile(swarm.torrent, async torrent => {
      const last = swarm.meta.pieceCount - 1
      const r = await run(['piece', torrent, String(last), '--no-trackers', '--peer', `127.0.0.1:${swarm.seederPorts[0]!}`])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdoutHash, sha1(data.subarray(last * 64 * 1024)))
      const bad = await run(['piece', torrent, String(last + 1)])
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, new RegExp(`piece ${last + 1} is out of range: the torrent has pieces 0\\.\\.${last}`))
    })
  } finally {
    await swarm.close()
  }
})

test('stdout a terminal: refused with a usage error before anything is fetched', async () => {
  const { main } = await import('../../lib/cli/main.js')
  const { fakeIO } = await import('../helpers.js')
  const io = fakeIO()
  Object.assign(io.stdout, { isTTY: true })
  const t = makeTorrent({ length: 1000, pieceLength: 16384, announce: 'http://127.0.0.1:9/announce' })
  await withTorrentFile(t.torrent, async torrent => {
    assert.equal(await main([torrent], io), 2)
    assert.match(io.err(), /stdout is a terminal: redirect it/)
  })
})
