/**
 * `npm run demo`: the main job on an embedded default, with no internet. Generates a file, makes
 * its torrent with `bt-stream create`'s code, starts a real tracker (bittorrent-tracker) and three
 * of our own seeders on loopback, runs the `bt-stream` command on the torrent with stdout piped
 * into a SHA-1, checks the bytes, says what happened, and stops everything it started.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Server } from 'bittorrent-tracker'
import { createTorrent } from '../lib/metainfo/create.js'
import { seedFromDisk, type SeedSession } from '../lib/session/seed.js'
import { humanSize } from '../lib/util/format.js'
import { seededBytes } from '../test/swarm/fixture-torrent.js'

const SIZE = Number(process.env.DEMO_SIZE_MIB ?? 64) * 1024 * 1024
const SEEDERS = 3
const BIN = fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))

async function main (): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-stream-demo-'))
  const tracker = new Server({ udp: false, ws: false, stats: false, http: true })
  const seeders: SeedSession[] = []
  try {
    await new Promise<void>(resolve => tracker.listen(0, '127.0.0.1', () => resolve()))
    const announce = `http://127.0.0.1:${(tracker.http!.address() as { port: number }).port}/announce`
    process.stdout.write(`demo: generating ${humanSize(SIZE)}, a torrent for it, a tracker and ${SEEDERS} bt-stream seeders on 127.0.0.1 ...\n`)
    const data = seededBytes(SIZE, 2026)
    const expected = createHash('sha1').update(data).digest('hex')
    const file = join(dir, 'demo.bin')
    writeFileSync(file, data)
    const { torrent, meta } = await createTorrent(file, { trackers: [announce], pieceLength: 256 * 1024 })
    const torrentPath = join(dir, 'demo.torrent')
    writeFileSync(torrentPath, torrent)
    for (let i = 0; i < SEEDERS; i++) seeders.push(await seedFromDisk(meta, file, { host: '127.0.0.1' }))
    process.stdout.write(`demo: tracker ${announce}; seeders on ports ${seeders.map(s => s.port).join(', ')}\n`)
    process.stdout.write(`demo: $ bt-stream ${torrentPath} --progress | sha1sum\n`)
    const started = process.hrtime.bigint()
    const result = await new Promise<{ code: number | null, hash: string, bytes: number, firstByteMs: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, torrentPath, '--progress'], { stdio: ['ignore', 'pipe', 'inherit'] })
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
    const uploaded = seeders.map(s => humanSize(s.seeder.uploaded)).join(', ')
    process.stdout.write([
      `demo: bt-stream exited ${String(result.code)} after ${seconds.toFixed(2)} s; first byte after ${result.firstByteMs.toFixed(0)} ms`,
      `demo: received ${humanSize(result.bytes)} at ${humanSize(Math.round(result.bytes / seconds))}/s; the seeders uploaded ${uploaded}`,
      `demo: sha1 ${result.hash} ${result.hash === expected ? 'matches' : `DOES NOT MATCH ${expected}`} the generated file`,
      ok ? 'demo: OK' : 'demo: FAILED',
      ''
    ].join('\n'))
    return ok ? 0 : 1
  } finally {
    await Promise.all(seeders.map(s => s.close()))
    await new Promise<void>(resolve => tracker.close(() => resolve()))
    rmSync(dir, { recursive: true, force: true })
  }
}

process.exitCode = await main()
