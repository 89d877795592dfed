/**
 * `npm run demo`: the main job on an embedded default, with no internet. Starts a real tracker
 * (bittorrent-tracker) and three seeders on loopback for a generated file, runs the `bt-stream`
 * command on the torrent with stdout piped into a SHA-1, checks the bytes, says what happened,
 * and stops everything it started.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startLocalSwarm } from '../test/e2e/local-swarm.js'
import { seededBytes } from '../test/swarm/fixture-torrent.js'
import { humanSize } from '../lib/util/format.js'

const SIZE = Number(process.env.DEMO_SIZE_MIB ?? 64) * 1024 * 1024
const SEEDERS = 3
const BIN = fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))

async function main (): Promise<number> {
  process.stdout.write(`demo: generating ${humanSize(SIZE)} and starting a tracker and ${SEEDERS} seeders on 127.0.0.1 ...\n`)
  const data = seededBytes(SIZE, 2026)
  const expected = createHash('sha1').update(data).digest('hex')
  const swarm = await startLocalSwarm([{ name: 'demo.bin', data }], { seeders: SEEDERS, pieceLength: 256 * 1024 })
  const dir = mkdtempSync(join(tmpdir(), 'bt-stream-demo-'))
  try {
    const torrent = join(dir, 'demo.torrent')
    writeFileSync(torrent, swarm.torrent)
    process.stdout.write(`demo: tracker ${swarm.announce}, seeders on ports ${swarm.seederPorts.join(', ')}\n`)
    process.stdout.write(`demo: $ bt-stream ${torrent} --progress | sha1sum\n`)
    const started = process.hrtime.bigint()
    const result = await new Promise<{ code: number | null, hash: string, bytes: number, firstByteMs: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, torrent, '--progress'], { stdio: ['ignore', 'pipe', 'inherit'] })
      const hash = createHash('sha1')
      let bytes = 0
      let firstByteMs = -1
      const timer = setTimeout(() => { child.kill('SIGTERM'); reject(new Error('bt-stream did not finish within 120 s')) }, 120_000)
      child.stdout.on('data', (chunk: Buffer) => {
        if (firstByteMs < 0) firstByteMs = Number(process.hrtime.bigint() - started) / 1e6
        bytes += chunk.length
        hash.update(chunk)
      })
      child.on('close', code => { clearTimeout(timer); resolve({ code, hash: hash.digest('hex'), bytes, firstByteMs }) })
    })
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const ok = result.code === 0 && result.hash === expected && result.bytes === SIZE
    process.stdout.write([
      `demo: bt-stream exited ${String(result.code)} after ${seconds.toFixed(2)} s; first byte after ${result.firstByteMs.toFixed(0)} ms`,
      `demo: received ${humanSize(result.bytes)} at ${humanSize(Math.round(result.bytes / seconds))}/s`,
      `demo: sha1 ${result.hash} ${result.hash === expected ? 'matches' : `DOES NOT MATCH ${expected}`} the generated file`,
      ok ? 'demo: OK' : 'demo: FAILED',
      ''
    ].join('\n'))
    return ok ? 0 : 1
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await swarm.close()
  }
}

process.exitCode = await main()
