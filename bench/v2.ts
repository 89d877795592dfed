/**
 * v1 against v2 (BEP 52) on the same payload: libtorrent 2.0 seeds one file as a v1-only and a
 * v2-only torrent (bench/v2-seeders.py), and bt-stream streams each to an in-process consumer,
 * alternating v1 and v2 so the machine's load falls on both alike. Rows: time to the first byte
 * (metainfo parsed to first verified chunk out), throughput, and the CPU the process spent per GiB
 * (v2 hashes SHA-256 merkle subtrees where v1 hashes SHA-1, both on the hashing thread).
 *
 * Three ways to stream: v1 (SHA-1 per piece), v2 verified by whole pieces only, and v2 with block
 * streaming (BEP 52: the head pieces' 16 KiB blocks checked alone and out at once). Time to first
 * byte is measured twice: from seeders at loopback speed, and from one seeder whose upload is
 * limited (V2_BENCH_TTFB_KIB KiB/s, a thin uplink), where a piece takes long to arrive and a
 * block does not. Last, the main thread's cost of one block check (SHA-256 of 16 KiB).
 *
 *   node dist/bench/v2.js          V2_BENCH_MIB=256 V2_BENCH_ROUNDS=3 V2_BENCH_SEEDERS=2
 *                                  V2_BENCH_TTFB_KIB=1024 V2_BENCH_TTFB_ROUNDS=7
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { crc32 } from 'node:zlib'
import { parseTorrent } from '../lib/metainfo/parse.js'
import type { Metainfo } from '../lib/metainfo/types.js'
import { download } from '../lib/session/download.js'
import { blockStreaming } from '../lib/v2/block-streamer.js'
import { sha256 } from '../lib/v2/merkle.js'
import { ensureBenchData } from './swarm/data-cache.js'

const PY = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('../../bench/v2-seeders.py', import.meta.url))
const MIB = 1024 * 1024

interface Run { firstByteMs: number, totalMs: number, cpuMs: number, bytes: number }

const VARIANTS = ['v1', 'v2', 'v2+blocks'] as const
type Variant = typeof VARIANTS[number]

/** Runs `fn` with block streaming on or off, as the variant says. */
async function as<T> (v: Variant, fn: () => Promise<T>): Promise<T> {
  blockStreaming.enabled = v === 'v2+blocks'
  try { return await fn() } finally { blockStreaming.enabled = true }
}

/** Time to the first byte only: the download stops there. */
async function firstByte (meta: Metainfo, ports: number[]): Promise<number> {
  const t0 = performance.now()
  const stream = download(meta, { peers: ports.map(port => ({ host: '127.0.0.1', port })), trackers: false, webSeeds: false, utp: 'off', encryption: 'off' })
  try {
    for await (const chunk of stream) { if (chunk.byteLength > 0) break }
    return performance.now() - t0
  } finally { stream.destroy() }
}

/** Microseconds one 16 KiB block check costs the main thread (SHA-256), median of 5 runs. */
function blockCheckMicros (): number {
  const block = Buffer.alloc(16 * 1024, 7)
  const n = 20_000
  const runs: number[] = []
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) sha256(block)
    runs.push((performance.now() - t0) * 1000 / n)
  }
  return median(runs)
}

async function startSeeders (dataPath: string, dir: string, pieceKiB: number, seeders: number, rateKiB: number): Promise<{ child: ReturnType<typeof spawn>, info: { ports: number[], v1: string, v2: string } }> {
  const child = spawn(PY, [SCRIPT, dataPath, dir, String(pieceKiB), String(seeders), String(rateKiB)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    let buf = ''
    child.stdout?.on('data', (b: Buffer) => { buf += b.toString(); const nl = buf.indexOf('\n'); if (nl >= 0) resolve(buf.slice(0, nl)) })
    child.once('exit', code => reject(new Error(`v2 seeders exited with ${String(code)} (is python3-libtorrent installed?)`)))
  })
  return { child, info: JSON.parse(line) as { ports: number[], v1: string, v2: string } }
}

function stopSeeders (child: ReturnType<typeof spawn>): void {
  child.stdin?.end()
  if (child.exitCode === null) child.kill()
}

async function once (meta: Metainfo, ports: number[], expectCrc: number): Promise<Run> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const stream = download(meta, { peers: ports.map(port => ({ host: '127.0.0.1', port })), trackers: false, webSeeds: false, utp: 'off', encryption: 'off' })
  let first = -1
  let crc = 0
  let bytes = 0
  for await (const chunk of stream) {
    if (first < 0) first = performance.now() - t0
    crc = crc32(chunk, crc)
    bytes += chunk.byteLength
  }
  const totalMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  if (crc !== expectCrc) throw new Error(`v2 bench: ${meta.version} download does not match the data (crc ${crc} != ${expectCrc})`)
  return { firstByteMs: first, totalMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes }
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] as number }

export async function printV2Bench (out: NodeJS.WritableStream): Promise<void> {
  const sizeMiB = Number(process.env.V2_BENCH_MIB ?? 256)
  const rounds = Number(process.env.V2_BENCH_ROUNDS ?? 3)
  const seeders = Number(process.env.V2_BENCH_SEEDERS ?? 2)
  const ttfbKiB = Number(process.env.V2_BENCH_TTFB_KIB ?? 1024)
  const ttfbRounds = Number(process.env.V2_BENCH_TTFB_ROUNDS ?? 7)
  const pieceKiB = 256
  const data = await ensureBenchData(sizeMiB, s => out.write(`# ${s}\n`))
  const fast = await startSeeders(data.path, data.dir, pieceKiB, seeders, 0)
  const runs: Record<Variant, Run[]> = { v1: [], v2: [], 'v2+blocks': [] }
  try {
    const metas = { v1: parseTorrent(readFileSync(fast.info.v1)), v2: parseTorrent(readFileSync(fast.info.v2)) }
    for (let r = 0; r < rounds; r++) {
      for (const v of VARIANTS) runs[v].push(await as(v, async () => await once(metas[v === 'v1' ? 'v1' : 'v2'], fast.info.ports, data.crc32)))
    }
  } finally { stopSeeders(fast.child) }
  const slow = await startSeeders(data.path, data.dir, pieceKiB, 1, ttfbKiB)
  const ttfb: Record<Variant, number[]> = { v1: [], v2: [], 'v2+blocks': [] }
  try {
    const metas = { v1: parseTorrent(readFileSync(slow.info.v1)), v2: parseTorrent(readFileSync(slow.info.v2)) }
    for (let r = 0; r < ttfbRounds; r++) {
      for (const v of VARIANTS) ttfb[v].push(await as(v, async () => await firstByte(metas[v === 'v1' ? 'v1' : 'v2'], slow.info.ports)))
    }
  } finally { stopSeeders(slow.child) }
  out.write(`\nv1 vs v2 (BEP 52), ${sizeMiB} MiB in ${pieceKiB} KiB pieces from ${seeders} libtorrent ${seeders === 1 ? 'seeder' : 'seeders'} over loopback, stdout-style stream, median of ${rounds}; `)
  out.write(`first byte also from 1 seeder limited to ${ttfbKiB} KiB/s (median of ${ttfbRounds})\n`)
  out.write('torrent     first byte   first byte (thin uplink)   throughput   CPU per GiB\n')
  for (const v of VARIANTS) {
    const rs = runs[v]
    const mibs = median(rs.map(x => x.bytes / MIB / (x.totalMs / 1000)))
    const cpuPerGiB = median(rs.map(x => x.cpuMs / 1000 / (x.bytes / (1024 * MIB))))
    out.write(`${v.padEnd(11)} ${`${median(rs.map(x => x.firstByteMs)).toFixed(0)} ms`.padStart(10)}   ${`${median(ttfb[v]).toFixed(0)} ms`.padStart(24)}   ${`${mibs.toFixed(0)} MiB/s`.padStart(10)}   ${`${cpuPerGiB.toFixed(2)} s`.padStart(11)}\n`)
  }
  out.write(`one 16 KiB block check on the main thread (SHA-256): ${blockCheckMicros().toFixed(1)} µs\n`)
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await printV2Bench(process.stdout)
