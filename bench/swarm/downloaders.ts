import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Child, type Children, deadline, watchLines } from './children.js'
import type { BenchData } from './data-cache.js'
import { SYSTEM_PYTHON } from './seeders.js'

/** One timed download: a row of the table. Times in seconds from the downloader's spawn. */
export interface Run {
  client: string
  mibps: number
  /** First byte at the consumer (bt-stream) or first verified piece (libtorrent); undefined: not observable. */
  ttfb?: number
  peakRss: number
  cpuSeconds: number
  /** CPU the seeders spent during the run: near 2 cores × the run's time, they were the limit. */
  seederCpuSeconds?: number
  /** Payload the seeders sent during the run / file size: above 1, blocks were fetched twice. */
  sentRatio?: number
  note?: string
}

export interface Target {
  readonly data: BenchData
  readonly torrent: string
  readonly ports: number[]
  /** Per run: past it the run's processes are killed and the run reported as failed. */
  readonly timeoutMs: number
}

const MiB = 1024 * 1024
/** BENCH_BT_STREAM: another build's bin/bt-stream.js, to compare two versions of the engine. */
const BT_STREAM = process.env.BENCH_BT_STREAM ?? fileURLToPath(new URL('../../../bin/bt-stream.js', import.meta.url))
const CONSUMER = fileURLToPath(new URL('./consumer.js', import.meta.url))
const LT_LEECHER = fileURLToPath(new URL('../../../bench/libtorrent-leecher.py', import.meta.url))
/** Downloads that write files write them to RAM, so no disk is measured and nothing is left. */
const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : '/tmp'

const SCRATCH_PREFIX = 'bt-stream-bench-'

/** Download dirs an interrupted run (Ctrl-C kills before its cleanup) left in SCRATCH. */
export function cleanScratch (): void {
  for (const f of readdirSync(SCRATCH)) if (f.startsWith(SCRATCH_PREFIX)) rmSync(join(SCRATCH, f), { recursive: true, force: true })
}

const peerList = (t: Target): string => t.ports.map(p => `127.0.0.1:${p}`).join(',')

/**
 * `bt-stream x.torrent --peer ... > pipe` into a consumer process: `hash` (node, SHA-1 of the
 * stream checked against the file's), `count` (node, counts bytes) or `cat` (cat > /dev/null,
 * the cheapest reader: end = cat's exit, no TTFB).
 */
export async function runBtStream (children: Children, t: Target, consumer: 'hash' | 'count' | 'cat', opts: { cpuProfDir?: string, extraArgs?: string[] } = {}): Promise<Run> {
  const node = opts.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir]
  const bt = children.start(process.execPath, [...node, BT_STREAM, t.torrent, '--peer', peerList(t), '--no-trackers', '--quiet', ...(opts.extraArgs ?? [])])
  const out = bt.proc.stdout
  if (out === null) throw new Error('bt-stream: no stdout')
  const reader = consumer === 'cat'
    ? children.start('cat', [], { stdio: [out, 'ignore', 'pipe'] })
    : children.start(process.execPath, [CONSUMER, ...(consumer === 'hash' ? ['--hash'] : [])], { stdio: [out, 'pipe', 'pipe'] })
  out.destroy() // the reader holds its own copy of the pipe
  try {
    return await deadline(measureBtStream(bt, reader, t, consumer), t.timeoutMs, `bt-stream (${consumer})`)
  } finally {
    await Promise.all([bt.stop(), reader.stop()])
  }
}

async function measureBtStream (bt: Child, reader: Child, t: Target, consumer: 'hash' | 'count' | 'cat'): Promise<Run> {
  const client = `bt-stream | ${consumer === 'cat' ? 'cat >/dev/null' : consumer === 'hash' ? 'node sha1' : 'node count'}`
  let first: number | undefined
  let end: number
  if (consumer === 'cat') {
    const exit = await reader.exited
    if (exit.code !== 0) throw new Error(`cat exited ${exit.code ?? exit.signal}`)
    end = exit.at
  } else {
    const lines = watchLines(reader)
    first = (await lines.when(l => l === 'first', t.timeoutMs)).at
    const last = await lines.when(l => l.startsWith('{'), t.timeoutMs)
    end = last.at
    const r = JSON.parse(last.text) as { bytes: number, sha1?: string }
    if (r.bytes !== t.data.size) throw new Error(`bt-stream: ${r.bytes} bytes out of ${t.data.size}\n${bt.stderrTail()}`)
    if (r.sha1 !== undefined && r.sha1 !== t.data.sha1) throw new Error(`bt-stream: stream SHA-1 ${r.sha1} is not the file's ${t.data.sha1}`)
  }
  const exit = await bt.exited
  if (exit.code !== 0) throw new Error(`bt-stream exited ${exit.code ?? exit.signal}\n${bt.stderrTail()}`)
  const u = bt.usage()
  return {
    client,
    mibps: t.data.size / MiB / ((end - bt.startedAt) / 1000),
    ttfb: first === undefined ? undefined : (first - bt.startedAt) / 1000,
    peakRss: u.peakRss,
    cpuSeconds: u.cpuSeconds,
    note: consumer === 'hash' ? 'SHA-1 of stream = file' : undefined
  }
}

/** libtorrent 2.0's leecher (python3-libtorrent) into a RAM dir, dialing the seeders itself. */
export async function runLibtorrent (children: Children, t: Target): Promise<Run> {
  const dir = mkdtempSync(join(SCRATCH, `${SCRATCH_PREFIX}lt-`))
  const lt = children.start(SYSTEM_PYTHON, [LT_LEECHER, t.torrent, dir, peerList(t)])
  try {
    const lines = watchLines(lt)
    const first = await lines.when(l => l === 'first', t.timeoutMs)
    const done = await lines.when(l => l === 'done', t.timeoutMs)
    const exit = await deadline(lt.exited, 10_000, 'libtorrent leecher exit')
    if (exit.code !== 0) throw new Error(`libtorrent leecher exited ${exit.code ?? exit.signal}\n${lt.stderrTail()}`)
    checkSize(join(dir, fileName(t)), t.data.size, 'libtorrent')
    const u = lt.usage()
    return {
      client: 'libtorrent 2.0 (python)',
      mibps: t.data.size / MiB / ((done.at - lt.startedAt) / 1000),
      ttfb: (first.at - lt.startedAt) / 1000,
      peakRss: u.peakRss,
      cpuSeconds: u.cpuSeconds,
      note: 'to /dev/shm (RSS: + mapped file); TTFB: 1st piece'
    }
  } finally {
    await lt.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** aria2c into a RAM dir; it learns the peers only from a tracker (it has no --peer). */
export async function runAria2 (children: Children, t: Target, tracker: string): Promise<Run> {
  const dir = mkdtempSync(join(SCRATCH, `${SCRATCH_PREFIX}aria2-`))
  const aria = children.start('aria2c', [
    `--dir=${dir}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
    `--bt-tracker=${tracker}`, '--seed-time=0', '--file-allocation=none', '--summary-interval=0',
    '--console-log-level=error', '--download-result=hide', '--max-overall-download-limit=0', '--bt-max-peers=0',
    '--bt-hash-check-seed=false', '--check-integrity=false', '--disable-ipv6=true', t.torrent
  ])
  try {
    const exit = await deadline(aria.exited, t.timeoutMs, 'aria2c')
    if (exit.code !== 0) throw new Error(`aria2c exited ${exit.code ?? exit.signal}\n${aria.stderrTail()}`)
    checkSize(join(dir, fileName(t)), t.data.size, 'aria2c')
    const u = aria.usage()
    return {
      client: 'aria2c',
      mibps: t.data.size / MiB / ((exit.at - aria.startedAt) / 1000),
      peakRss: u.peakRss,
      cpuSeconds: u.cpuSeconds,
      note: 'to /dev/shm; peers via tracker'
    }
  } finally {
    await aria.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function fileName (t: Target): string {
  return t.data.path.slice(t.data.path.lastIndexOf('/') + 1)
}

function checkSize (path: string, size: number, who: string): void {
  const got = existsSync(path) ? statSync(path).size : -1
  if (got !== size) throw new Error(`${who}: ${path} has ${got} bytes, not ${size}`)
}
