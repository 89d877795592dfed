/**
 * `bt-stream serve` over loopback HTTP (issue 15): a 64 MiB file of 256 KiB pieces, seeded by our
 * own seeders on 127.0.0.1, read through the stream engine and the HTTP server by node:http
 * clients in this same process.
 *  - seek latency: seeders capped at SEEK_RATE each, so the download is slow; once it is at 10%,
 *    a range at 30%, 60% and 90% in turn (each not yet fetched): time to its first byte.
 *  - throughput to one reader: unlimited seeders, a fresh cache, the whole file from byte 0.
 *  - throughput to four readers: the same, four readers each reading one quarter at once.
 *  - from the cache: the whole file again once it is all on disk (disk and HTTP only).
 *
 *   BENCH_ONLY=serve npm run bench
 */
import { request } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTorrent } from '../lib/metainfo/create.js'
import type { Metainfo } from '../lib/metainfo/types.js'
import { startTorrentServer } from '../lib/serve/http-server.js'
import { seedFromDisk, type SeedSession } from '../lib/session/seed.js'
import { openStream, type StreamEngine } from '../lib/session/stream-engine.js'

const MiB = 1024 * 1024
const SIZE = 64 * MiB
const PIECE_LENGTH = 256 * 1024
const SEEDERS = 2
/** Each seeder's upload cap in the seek runs: the whole file takes ~30 s, a seek should not. */
const SEEK_RATE = MiB
const SEEK_AT = [0.3, 0.6, 0.9] as const

interface Setup { engine: StreamEngine, url: string, close: () => Promise<void> }

async function setup (meta: Metainfo, seedDir: string, maxUploadRate: number | undefined): Promise<Setup> {
  const seeders: SeedSession[] = []
  for (let i = 0; i < SEEDERS; i++) seeders.push(await seedFromDisk(meta, seedDir, { host: '127.0.0.1', trackers: false, dht: false, maxUploadRate }))
  const cache = mkdtempSync(join(tmpdir(), 'bt-bench-serve-cache-'))
  const engine = await openStream(meta, { dir: cache, peers: seeders.map(s => ({ host: '127.0.0.1', port: s.port })), trackers: false, dht: false, listen: false })
  const server = await startTorrentServer(engine)
  return {
    engine,
    url: server.url,
    close: async () => {
      await server.close()
      await engine.close()
      await Promise.all(seeders.map(async s => await s.close()))
      rmSync(cache, { recursive: true, force: true })
    }
  }
}

/** GET a range; resolves with the time to the first byte and to the last, and the bytes read. */
async function fetchRange (url: string, start: number, end: number): Promise<{ firstMs: number, totalMs: number, bytes: number }> {
  const t0 = performance.now()
  return await new Promise((resolve, reject) => {
    const req = request(url, { headers: { Range: `bytes=${start}-${end - 1}` }, agent: false }, res => {
      let first = -1
      let bytes = 0
      res.on('data', (c: Buffer) => { if (first < 0) first = performance.now() - t0; bytes += c.length })
      res.on('end', () => resolve({ firstMs: first, totalMs: performance.now() - t0, bytes }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function until (cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise(resolve => setTimeout(resolve, 20))
}

function mibps (bytes: number, ms: number): string {
  return `${(bytes / MiB / (ms / 1000)).toFixed(1)} MiB/s`
}

export async function printServeBench (out: NodeJS.WritableStream): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-bench-serve-'))
  try {
    const file = join(dir, 'movie.mkv')
    writeFileSync(file, randomBytes(SIZE))
    const { meta } = await createTorrent(file, { pieceLength: PIECE_LENGTH })
    out.write(`\nserve: ${SIZE / MiB} MiB file, ${PIECE_LENGTH / 1024} KiB pieces, ${SEEDERS} loopback seeders, HTTP on loopback\n`)

    // Seek latency, download slowed by the seeders' caps.
    {
      const s = await setup(meta, dir, SEEK_RATE)
      try {
        let written = 0
        s.engine.on('written', () => { written++ })
        await until(() => written >= meta.pieceCount / 10)
        for (const at of SEEK_AT) {
          const start = Math.floor(SIZE * at)
          const r = await fetchRange(`${s.url}/0`, start, start + MiB)
          out.write(`  seek to ${at * 100}% (download at ${(100 * written / meta.pieceCount).toFixed(0)}%, seeders ${SEEK_RATE / MiB} MiB/s each): first byte ${r.firstMs.toFixed(0)} ms, 1 MiB in ${r.totalMs.toFixed(0)} ms\n`)
        }
      } finally {
        await s.close()
      }
    }

    // Throughput, unlimited seeders, fresh cache each.
    {
      const s = await setup(meta, dir, undefined)
      try {
        const r = await fetchRange(`${s.url}/0`, 0, SIZE)
        out.write(`  one reader, whole file while it downloads: ${mibps(r.bytes, r.totalMs)} (first byte ${r.firstMs.toFixed(0)} ms)\n`)
        await until(() => s.engine.complete)
        const c = await fetchRange(`${s.url}/0`, 0, SIZE)
        out.write(`  one reader, whole file from the cache: ${mibps(c.bytes, c.totalMs)}\n`)
      } finally {
        await s.close()
      }
    }
    {
      const s = await setup(meta, dir, undefined)
      try {
        const t0 = performance.now()
        const q = SIZE / 4
        const rs = await Promise.all([0, 1, 2, 3].map(async i => await fetchRange(`${s.url}/0`, i * q, (i + 1) * q)))
        const ms = performance.now() - t0
        const bytes = rs.reduce((n, r) => n + r.bytes, 0)
        out.write(`  four readers, one quarter each at once: ${mibps(bytes, ms)} in all (slowest ${(Math.max(...rs.map(r => r.totalMs)) / 1000).toFixed(1)} s)\n`)
      } finally {
        await s.close()
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await printServeBench(process.stdout)
