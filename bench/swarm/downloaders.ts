import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Child, type Children, deadline, type Line, watchLines } from './children.js'
import { PROBE_TAG } from './probe-tag.js'
import { type BenchData, fileSha1 } from './data-cache.js'
import { SYSTEM_PYTHON } from './seeders.js'

/** One timed download: a row of the table. Times in seconds from the downloader's spawn. */
export interface Run {
  client: string
  mibps: number
  /** First byte at the consumer (bt-stream) or first verified piece (libtorrent); undefined: not observable. */
  ttfb?: number
  /** VmHWM: counts file pages the process maps (libtorrent's file), so not comparable across clients. */
  peakRss: number
  /** Largest RssAnon sampled every 50 ms: the process's own memory, the one to compare. */
  peakRssAnon: number
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
  /** This benchmark's own scratch directory (createScratch), where downloads write files. */
  readonly scratch: string
}

const MiB = 1024 * 1024
/** BENCH_BT_STREAM: another build's bin/bt-stream.js, to compare two versions of the engine. */
export const BT_STREAM = process.env.BENCH_BT_STREAM ?? fileURLToPath(new URL('../../../bin/bt-stream.js', import.meta.url))
const CONSUMER = fileURLToPath(new URL('./consumer.js', import.meta.url))
const PROBE = fileURLToPath(new URL('./first-byte-probe.js', import.meta.url))
const LIBRARY = fileURLToPath(new URL('./library-download.js', import.meta.url))
const LT_LEECHER = fileURLToPath(new URL('../../../bench/libtorrent-leecher.py', import.meta.url))
const LT_FIRST_PIECE = fileURLToPath(new URL('../../../bench/swarm/libtorrent-first-piece.py', import.meta.url))
/** Downloads that write files write them to RAM, so no disk is measured. */
export const SCRATCH_BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()

/**
 * A fresh directory for this benchmark's downloads: a second benchmark running at the same time
 * has its own, and neither deletes the other's. The caller removes it (removeScratch) at the end,
 * on errors and Ctrl-C too.
 */
export function createScratch (): string {
  return mkdtempSync(join(SCRATCH_BASE, 'bt-stream-bench-'))
}

export function removeScratch (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

const peerList = (t: Target): string => t.ports.map(p => `127.0.0.1:${p}`).join(',')

/**
 * `bt-stream x.torrent --peer ... > pipe` into a consumer process: `hash` (node, SHA-1 of the
 * stream), `count` (node, counts bytes and takes their CRC-32) or `cat` (cat into a file in the
 * scratch directory, the cheapest reader: end = cat's exit, no TTFB; the file's SHA-1 is checked
 * after the run's clock stopped). Every row's bytes are checked against the file's.
 */
export async function runBtStream (children: Children, t: Target, consumer: 'hash' | 'count' | 'cat', opts: { cpuProfDir?: string, extraArgs?: string[] } = {}): Promise<Run> {
  const node = opts.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir]
  const bt = children.start(process.execPath, [...node, BT_STREAM, t.torrent, '--peer', peerList(t), '--no-trackers', '--quiet', ...(opts.extraArgs ?? [])])
  const out = bt.proc.stdout
  if (out === null) throw new Error('bt-stream: no stdout')
  const catFile = join(t.scratch, 'bt-stream-cat.bin')
  const catFd = consumer === 'cat' ? openSync(catFile, 'w') : undefined
  let reader: Child
  try {
    reader = catFd !== undefined
      ? children.start('cat', [], { stdio: [out, catFd, 'pipe'] })
      : children.start(process.execPath, [CONSUMER, ...(consumer === 'hash' ? ['--hash'] : [])], { stdio: [out, 'pipe', 'pipe'] })
  } finally {
    if (catFd !== undefined) closeSync(catFd) // cat holds its own copy
  }
  out.destroy() // the reader holds its own copy of the pipe
  try {
    const run = await deadline(measureBtStream(bt, reader, t, consumer), t.timeoutMs, `bt-stream (${consumer})`)
    if (consumer === 'cat') await checkFile(catFile, t.data, 'bt-stream | cat')
    return run
  } finally {
    await Promise.all([bt.stop(), reader.stop()])
    rmSync(catFile, { force: true })
  }
}

async function measureBtStream (bt: Child, reader: Child, t: Target, consumer: 'hash' | 'count' | 'cat'): Promise<Run> {
  const client = `bt-stream | ${consumer === 'cat' ? 'cat > file' : consumer === 'hash' ? 'node sha1' : 'node count'}`
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
    const r = JSON.parse(last.text) as { bytes: number, sha1?: string, crc32?: number }
    if (r.bytes !== t.data.size) throw new Error(`bt-stream: ${r.bytes} bytes out of ${t.data.size}\n${bt.stderrTail()}`)
    if (r.sha1 !== undefined && r.sha1 !== t.data.sha1) throw new Error(`bt-stream: stream SHA-1 ${r.sha1} is not the file's ${t.data.sha1}`)
    if (r.crc32 !== undefined && r.crc32 !== t.data.crc32) throw new Error(`bt-stream: stream CRC-32 ${r.crc32} is not the file's ${t.data.crc32}`)
    if (r.sha1 === undefined && r.crc32 === undefined) throw new Error('bt-stream: the consumer checked nothing')
  }
  const exit = await bt.exited
  if (exit.code !== 0) throw new Error(`bt-stream exited ${exit.code ?? exit.signal}\n${bt.stderrTail()}`)
  const u = bt.usage()
  return {
    client,
    mibps: t.data.size / MiB / ((end - bt.startedAt) / 1000),
    ttfb: first === undefined ? undefined : (first - bt.startedAt) / 1000,
    peakRss: u.peakRss,
    peakRssAnon: u.peakRssAnon,
    cpuSeconds: u.cpuSeconds,
    note: consumer === 'hash' ? 'SHA-1 of stream = file' : consumer === 'count' ? 'CRC-32 of stream = file' : `to ${t.scratch.startsWith('/dev/shm') ? '/dev/shm' : 'tmp'}; SHA-1 checked after`
  }
}

/**
 * `bt-stream x.torrent --peer ... > file`: stdout is the file itself (an fd of a file in the
 * scratch directory, on /dev/shm), no pipe and no reader process: the sink as fair as
 * libtorrent's file in RAM. `library`: library-download.js instead of the CLI, the same way. The run ends at bt-stream's exit (its last write returned before);
 * the file's SHA-1 is checked after the clock stopped. No TTFB: nothing watches the file (the
 * first-byte row measures it, with runBtStreamFirstByte).
 */
export async function runBtStreamFile (children: Children, t: Target, opts: { cpuProfDir?: string, extraArgs?: string[], library?: boolean } = {}): Promise<Run> {
  const node = opts.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir]
  const file = join(t.scratch, 'bt-stream-stdout.bin')
  const fd = openSync(file, 'w')
  const client = opts.library === true ? 'library download() > file' : 'bt-stream > file'
  const args = opts.library === true
    ? [LIBRARY, BT_STREAM, t.torrent, peerList(t)]
    : [BT_STREAM, t.torrent, '--peer', peerList(t), '--no-trackers', '--quiet', ...(opts.extraArgs ?? [])]
  let bt: Child
  try {
    bt = children.start(process.execPath, [...node, ...args], { stdio: ['ignore', fd, 'pipe'] })
  } finally {
    closeSync(fd) // the child holds its own copy
  }
  try {
    const exit = await deadline(bt.exited, t.timeoutMs, client)
    if (exit.code !== 0) throw new Error(`${client} exited ${exit.code ?? exit.signal}\n${bt.stderrTail()}`)
    await checkFile(file, t.data, client)
    const u = bt.usage()
    return {
      client,
      mibps: t.data.size / MiB / ((exit.at - bt.startedAt) / 1000),
      peakRss: u.peakRss,
      peakRssAnon: u.peakRssAnon,
      cpuSeconds: u.cpuSeconds,
      note: `stdout = a file on ${t.scratch.startsWith('/dev/shm') ? '/dev/shm' : 'tmp'}; SHA-1 checked after`
    }
  } finally {
    await bt.stop()
    rmSync(file, { force: true })
  }
}

/** One first-byte sample: times in seconds. */
export interface FirstByte {
  /** From the downloader's spawn, on the benchmark's clock. */
  readonly fromSpawn: number
  /** From the first unchoke the downloader received, on its own clock. */
  readonly fromUnchoke: number
}

/**
 * bt-stream's first stdout byte, `> file` as in the throughput row, with first-byte-probe.js
 * preloaded: it reports when the first unchoke came and when the first bytes were written to
 * stdout. The download is stopped (by PID) once that line came: the rest is the throughput row's.
 */
export async function runBtStreamFirstByte (children: Children, t: Target, extraArgs: string[] = []): Promise<FirstByte> {
  const file = join(t.scratch, 'bt-stream-first.bin')
  const fd = openSync(file, 'w')
  let bt: Child
  try {
    // The probe patches the swarm module of dist/lib: the CLI must run from it, not its bundle.
    bt = children.start(process.execPath, ['--import', PROBE, BT_STREAM, t.torrent, '--peer', peerList(t), '--no-trackers', '--quiet', ...extraArgs], { stdio: ['ignore', fd, 'pipe'], env: { ...process.env, BT_STREAM_UNBUNDLED: '1' } })
  } finally {
    closeSync(fd)
  }
  try {
    const line = await deadline(stderrLine(bt, l => l.startsWith(PROBE_TAG)), t.timeoutMs, 'bt-stream first byte')
    const p = JSON.parse(line.text.slice(PROBE_TAG.length)) as { unchokeMs: number | null, stdoutMs: number }
    if (p.unchokeMs === null) throw new Error('bt-stream wrote to stdout before any unchoke was seen: the probe missed it')
    return { fromSpawn: (line.at - bt.startedAt) / 1000, fromUnchoke: (p.stdoutMs - p.unchokeMs) / 1000 }
  } finally {
    await bt.stop()
    rmSync(file, { force: true })
  }
}

/**
 * libtorrent's first verified piece (bench/swarm/libtorrent-first-piece.py: the leecher's session
 * with its peer log on, to see the unchoke), from its spawn and from its first unchoke.
 */
export async function runLibtorrentFirstPiece (children: Children, t: Target): Promise<FirstByte> {
  const dir = mkdtempSync(join(t.scratch, 'lt-first-'))
  const lt = children.start(SYSTEM_PYTHON, [LT_FIRST_PIECE, t.torrent, dir, peerList(t)])
  try {
    const line = await watchLines(lt).when(l => l.startsWith('{'), t.timeoutMs)
    const p = JSON.parse(line.text) as { unchoke: number | null, first: number }
    if (p.unchoke === null) throw new Error('libtorrent verified a piece before its peer log showed an unchoke')
    return { fromSpawn: (line.at - lt.startedAt) / 1000, fromUnchoke: p.first - p.unchoke }
  } finally {
    await lt.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The first stderr line `test` accepts, stamped on arrival; rejects if the child exits first. */
function stderrLine (child: Child, test: (line: string) => boolean): Promise<Line> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const onData = (s: string | Buffer): void => {
      buf += s.toString()
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (test(text)) { done(); resolve({ text, at: performance.now() }); return }
      }
    }
    const onExit = (): void => { done(); reject(new Error(`exited before the expected stderr line\n${child.stderrTail()}`)) }
    const done = (): void => { child.proc.stderr?.off('data', onData); child.proc.off('exit', onExit) }
    child.proc.stderr?.on('data', onData)
    child.proc.once('exit', onExit)
  })
}

/** libtorrent 2.0's leecher (python3-libtorrent) into a RAM dir, dialing the seeders itself. */
export async function runLibtorrent (children: Children, t: Target): Promise<Run> {
  const dir = mkdtempSync(join(t.scratch, 'lt-'))
  const lt = children.start(SYSTEM_PYTHON, [LT_LEECHER, t.torrent, dir, peerList(t)])
  try {
    const lines = watchLines(lt)
    const first = await lines.when(l => l === 'first', t.timeoutMs)
    const done = await lines.when(l => l === 'done', t.timeoutMs)
    const exit = await deadline(lt.exited, 10_000, 'libtorrent leecher exit')
    if (exit.code !== 0) throw new Error(`libtorrent leecher exited ${exit.code ?? exit.signal}\n${lt.stderrTail()}`)
    await checkFile(join(dir, fileName(t)), t.data, 'libtorrent')
    const u = lt.usage()
    return {
      client: 'libtorrent 2.0 (python)',
      mibps: t.data.size / MiB / ((done.at - lt.startedAt) / 1000),
      ttfb: (first.at - lt.startedAt) / 1000,
      peakRss: u.peakRss,
      peakRssAnon: u.peakRssAnon,
      cpuSeconds: u.cpuSeconds,
      note: 'to /dev/shm (RSS: + mapped file); TTFB: 1st piece; SHA-1 checked after'
    }
  } finally {
    await lt.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** aria2c into a RAM dir; it learns the peers only from a tracker (it has no --peer). */
export async function runAria2 (children: Children, t: Target, tracker: string): Promise<Run> {
  const dir = mkdtempSync(join(t.scratch, 'aria2-'))
  const aria = children.start('aria2c', [
    `--dir=${dir}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
    `--bt-tracker=${tracker}`, '--seed-time=0', '--file-allocation=none', '--summary-interval=0',
    '--console-log-level=error', '--download-result=hide', '--max-overall-download-limit=0', '--bt-max-peers=0',
    '--bt-hash-check-seed=false', '--check-integrity=false', '--disable-ipv6=true', t.torrent
  ])
  try {
    const exit = await deadline(aria.exited, t.timeoutMs, 'aria2c')
    if (exit.code !== 0) throw new Error(`aria2c exited ${exit.code ?? exit.signal}\n${aria.stderrTail()}`)
    await checkFile(join(dir, fileName(t)), t.data, 'aria2c')
    const u = aria.usage()
    return {
      client: 'aria2c',
      mibps: t.data.size / MiB / ((exit.at - aria.startedAt) / 1000),
      peakRss: u.peakRss,
      peakRssAnon: u.peakRssAnon,
      cpuSeconds: u.cpuSeconds,
      note: 'to /dev/shm; peers via tracker; SHA-1 checked after'
    }
  } finally {
    await aria.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function fileName (t: Target): string {
  return t.data.path.slice(t.data.path.lastIndexOf('/') + 1)
}

/** The downloaded file is the seeded one: its size, then its SHA-1 (outside the run's clock). */
async function checkFile (path: string, data: BenchData, who: string): Promise<void> {
  const got = existsSync(path) ? statSync(path).size : -1
  if (got !== data.size) throw new Error(`${who}: ${path} has ${got} bytes, not ${data.size}`)
  const sha1 = await fileSha1(path)
  if (sha1 !== data.sha1) throw new Error(`${who}: ${path} has SHA-1 ${sha1}, not the file's ${data.sha1}`)
}
