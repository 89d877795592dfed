/**
 * A swarm of slow seeders, closer to the internet than four loopback seeders: SLOW_SEEDERS of our
 * own seeders on 127.0.0.1, each capped at SLOW_RATE by its upload limit (so the swarm's capacity
 * is known), serving one SLOW_SIZE file. Each client downloads it in turn, interleaved over
 * ROUNDS rounds; the table gives medians. What it shows: whether streaming to stdout keeps up
 * with a download to disk when the head of the window waits on slow peers (issue 18).
 *
 *   BENCH_ONLY=slow npm run bench          both swarms of issue 18: 16 x 1 MiB/s, then 50 x 256 KiB/s
 *   SLOW_SWARMS=16x1024,50x256             seeders x KiB/s each (SLOW_SEEDERS + SLOW_RATE_KIB: one swarm)
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTorrent } from '../lib/metainfo/create.js'
import { parseTorrent } from '../lib/metainfo/parse.js'
import { seedFromDisk, type SeedSession } from '../lib/session/seed.js'
import { recordGoal } from './goals.js'

const MiB = 1024 * 1024
interface Swarm { readonly seeders: number, readonly rate: number }
const SWARMS: readonly Swarm[] = process.env.SLOW_SEEDERS !== undefined || process.env.SLOW_RATE_KIB !== undefined
  ? [{ seeders: Number(process.env.SLOW_SEEDERS ?? 16), rate: Number(process.env.SLOW_RATE_KIB ?? 1024) * 1024 }]
  : (process.env.SLOW_SWARMS ?? '16x1024,50x256').split(',').map(spec => {
      const [n, kib] = spec.split('x').map(Number)
      if (n === undefined || kib === undefined || !(n > 0) || !(kib > 0)) throw new Error(`SLOW_SWARMS: "${spec}" is not SEEDERSxKIB`)
      return { seeders: n, rate: kib * 1024 }
    })
const SIZE = Number(process.env.SLOW_SIZE_MIB ?? 128) * MiB
const ROUNDS = Number(process.env.SLOW_ROUNDS ?? 3)
const BIN = fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))
const LT_LEECHER = fileURLToPath(new URL('../../bench/libtorrent-leecher.py', import.meta.url))
const SYSTEM_PYTHON = '/usr/bin/python3'
/** No run may take longer than the swarm's capacity allows, four times over. */
const RUN_TIMEOUT_MS = Math.max(60_000, 4 * 1000 * SIZE / Math.min(...SWARMS.map(w => w.seeders * w.rate)))

interface Sample { readonly seconds: number, readonly firstByteMs: number | undefined }
interface Client { readonly name: string, run (torrent: string, peers: string, scratch: string, expectSha1: string): Promise<Sample> }

function seededBytes (length: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  let x = 0x9e3779b9
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    out.writeUInt32LE(x, i)
  }
  return out
}

/** Runs a child to its exit within the bound; resolves with its stdout's SHA-1 and first byte. */
function runChild (cmd: string, args: string[], hashStdout: boolean): Promise<{ sha1: string, firstByteMs: number | undefined, stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const hash = createHash('sha1')
    let first: number | undefined
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { first ??= Date.now() - t0; if (hashStdout) hash.update(c) })
    child.stderr.on('data', (c: Buffer) => { if (stderr.length < 4096) stderr += c.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} timed out after ${RUN_TIMEOUT_MS} ms`)) }, RUN_TIMEOUT_MS)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr.trim()}`))
      else resolve({ sha1: hash.digest('hex'), firstByteMs: first, stderr })
    })
  })
}

const fileSha1 = (path: string): string => createHash('sha1').update(readFileSync(path)).digest('hex')

const CLIENTS: Client[] = [
  {
    name: 'bt-stream x.torrent > stdout',
    async run (torrent, peers, _scratch, expect) {
      const t0 = Date.now()
      const r = await runChild(process.execPath, [BIN, torrent, '--peer', peers, '--no-trackers', '--no-dht', '--quiet'], true)
      if (r.sha1 !== expect) throw new Error('stdout does not hash to the file')
      return { seconds: (Date.now() - t0) / 1000, firstByteMs: r.firstByteMs }
    }
  },
  {
    name: 'bt-stream x.torrent -o',
    async run (torrent, peers, scratch, expect) {
      const out = join(scratch, 'out.bin')
      const t0 = Date.now()
      await runChild(process.execPath, [BIN, torrent, '-o', out, '--peer', peers, '--no-trackers', '--no-dht', '--quiet'], false)
      const seconds = (Date.now() - t0) / 1000
      if (fileSha1(out) !== expect) throw new Error('-o file does not hash to the file')
      return { seconds, firstByteMs: undefined }
    }
  }
]
if (spawnSync(SYSTEM_PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0) {
  CLIENTS.push({
    name: 'libtorrent 2.0 (python)',
    async run (torrent, peers, scratch, expect) {
      const t0 = Date.now()
      await runChild(SYSTEM_PYTHON, [LT_LEECHER, torrent, scratch, peers], false)
      const seconds = (Date.now() - t0) / 1000
      if (fileSha1(join(scratch, 'slow.bin')) !== expect) throw new Error('libtorrent file does not hash to the file')
      return { seconds, firstByteMs: undefined }
    }
  })
}

/** Issue 18's slow-swarm goals (bench/goals.ts), for the two swarms the issue names. */
function recordSlowGoals (seeders: number, rate: number, samples: Map<string, Sample[]>): void {
  const key = seeders === 16 && rate === 1024 * 1024 ? 'slow16' : seeders === 50 && rate === 256 * 1024 ? 'slow50' : undefined
  if (key === undefined) return
  const mibps = (name: string): number | undefined => {
    const s = samples.get(name) ?? []
    return s.length === 0 ? undefined : SIZE / MiB / median(s.map(x => x.seconds))
  }
  const stdout = mibps(CLIENTS[0]!.name)
  const disk = mibps(CLIENTS[1]!.name)
  const lt = CLIENTS[2] === undefined ? undefined : mibps(CLIENTS[2].name)
  if (stdout === undefined) return
  if (disk !== undefined) recordGoal(`${key}.stdoutVsO`, stdout / disk, `${stdout.toFixed(1)} vs ${disk.toFixed(1)} MiB/s, ${ROUNDS} rounds`)
  if (lt !== undefined) recordGoal(`${key}.stdoutVsLibtorrent`, stdout / lt, `${stdout.toFixed(1)} vs ${lt.toFixed(1)} MiB/s`)
  const firsts = (samples.get(CLIENTS[0]!.name) ?? []).map(x => x.firstByteMs).filter((x): x is number => x !== undefined)
  if (firsts.length > 0) recordGoal(`${key}.firstByte`, median(firsts) / 1000, 'bt-stream > stdout, from spawn')
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] as number }

export async function printSlowSwarm (out: NodeJS.WritableStream): Promise<void> {
  for (const swarm of SWARMS) await printOneSwarm(out, swarm)
}

async function printOneSwarm (out: NodeJS.WritableStream, { seeders: SEEDERS, rate: RATE }: Swarm): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-bench-slow-'))
  const seeds: SeedSession[] = []
  try {
    const data = seededBytes(SIZE)
    const file = join(dir, 'slow.bin')
    writeFileSync(file, data)
    const expect = createHash('sha1').update(data).digest('hex')
    const made = await createTorrent(file, { pieceLength: 256 * 1024 })
    const torrent = join(dir, 'slow.torrent')
    writeFileSync(torrent, made.torrent)
    const meta = parseTorrent(made.torrent)
    for (let i = 0; i < SEEDERS; i++) seeds.push(await seedFromDisk(meta, file, { host: '127.0.0.1', trackers: false, maxUploadRate: RATE }))
    const peers = seeds.map(s => `127.0.0.1:${s.port}`).join(',')
    const samples = new Map<string, Sample[]>(CLIENTS.map(c => [c.name, []]))
    const errors = new Map<string, string>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CLIENTS) {
        const scratch = mkdtempSync(join(dir, 'run-'))
        try {
          samples.get(c.name)?.push(await c.run(torrent, peers, scratch, expect))
        } catch (err) {
          errors.set(c.name, err instanceof Error ? err.message : String(err))
        } finally { rmSync(scratch, { recursive: true, force: true }) }
      }
    }
    out.write(`\n## Slow swarm: ${SEEDERS} seeders at ${RATE / 1024} KiB/s (${SEEDERS * RATE / MiB} MiB/s of capacity), ${SIZE / MiB} MiB, medians of ${ROUNDS} interleaved rounds\n\n`)
    out.write('| client | MiB/s | first byte |\n| --- | --- | --- |\n')
    for (const c of CLIENTS) {
      const s = samples.get(c.name) ?? []
      if (s.length === 0) { out.write(`| ${c.name} | failed: ${errors.get(c.name) ?? '?'} | |\n`); continue }
      const firsts = s.map(x => x.firstByteMs).filter((x): x is number => x !== undefined)
      out.write(`| ${c.name} | ${(SIZE / MiB / median(s.map(x => x.seconds))).toFixed(1)} | ${firsts.length === 0 ? '-' : `${(median(firsts) / 1000).toFixed(2)} s`} |\n`)
    }
    recordSlowGoals(SEEDERS, RATE, samples)
  } finally {
    for (const s of seeds) await s.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
