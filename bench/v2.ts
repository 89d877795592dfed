/**
 * v1 against v2 (BEP 52) on the same payload: libtorrent 2.0 seeds one file as a v1-only and a
 * v2-only torrent (bench/v2-seeders.py), and bt-stream streams each to an in-process consumer,
 * alternating v1 and v2 so the machine's load falls on both alike. Rows: time to the first byte
 * (metainfo parsed to first verified chunk out), throughput, and the CPU the process spent per GiB
 * (v2 hashes SHA-256 merkle subtrees where v1 hashes SHA-1, both on the hashing thread).
 *
 *   node dist/bench/v2.js          V2_BENCH_MIB=256 V2_BENCH_ROUNDS=3 V2_BENCH_SEEDERS=2
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { crc32 } from 'node:zlib'
import { parseTorrent } from '../lib/metainfo/parse.js'
import type { Metainfo } from '../lib/metainfo/types.js'
import { download } from '../lib/session/download.js'
import { ensureBenchData } from './swarm/data-cache.js'

const PY = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('../../bench/v2-seeders.py', import.meta.url))
const MIB = 1024 * 1024

interface Run { firstByteMs: number, totalMs: number, cpuMs: number, bytes: number }

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
  const pieceKiB = 256
  const data = await ensureBenchData(sizeMiB, s => out.write(`# ${s}\n`))
  const child = spawn(PY, [SCRIPT, data.path, data.dir, String(pieceKiB), String(seeders)], { stdio: ['pipe', 'pipe', 'inherit'] })
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let buf = ''
      child.stdout.on('data', (b: Buffer) => { buf += b.toString(); const nl = buf.indexOf('\n'); if (nl >= 0) resolve(buf.slice(0, nl)) })
      child.once('exit', code => reject(new Error(`v2 seeders exited with ${String(code)} (is python3-libtorrent installed?)`)))
    })
    const info = JSON.parse(line) as { ports: number[], v1: string, v2: string }
    const metas = { v1: parseTorrent(readFileSync(info.v1)), v2: parseTorrent(readFileSync(info.v2)) }
    const runs: Record<'v1' | 'v2', Run[]> = { v1: [], v2: [] }
    for (let r = 0; r < rounds; r++) {
      for (const v of ['v1', 'v2'] as const) runs[v].push(await once(metas[v], info.ports, data.crc32))
    }
    out.write(`\nv1 vs v2 (BEP 52), ${sizeMiB} MiB in ${pieceKiB} KiB pieces from ${seeders} libtorrent ${seeders === 1 ? 'seeder' : 'seeders'} over loopback, stdout-style stream, median of ${rounds}\n`)
    out.write('torrent   first byte   throughput   CPU per GiB\n')
    for (const v of ['v1', 'v2'] as const) {
      const rs = runs[v]
      const mibs = median(rs.map(x => x.bytes / MIB / (x.totalMs / 1000)))
      const cpuPerGiB = median(rs.map(x => x.cpuMs / 1000 / (x.bytes / (1024 * MIB))))
      out.write(`${v.padEnd(9)} ${`${median(rs.map(x => x.firstByteMs)).toFixed(0)} ms`.padStart(10)}   ${`${mibs.toFixed(0)} MiB/s`.padStart(10)}   ${`${cpuPerGiB.toFixed(2)} s`.padStart(11)}\n`)
    }
  } finally {
    child.stdin.end()
    if (child.exitCode === null) child.kill()
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await printV2Bench(process.stdout)
