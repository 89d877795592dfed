/**
 * Memory of a download (issue 18): peak anonymous RSS (RssAnon in /proc/PID/status, sampled every
 * SAMPLE_MS) and VmHWM of `bt-stream x.torrent > /dev/shm/f` with the default 16 MiB window, per
 * download size, and where the bytes were at the peak. RssAnon is what the process itself owns
 * (heaps, buffers, stacks); RssFile (node's own mapped binary, shared with every node process) is
 * not in it, VmHWM counts both.
 *
 *   node dist/bench/memory.js
 *
 * MEMORY_BENCH_SIZES  sizes in MiB (256,1024); 4096 makes a 4 GiB file in BENCH_DIR once (check
 *                     `df -h /tmp`; remove bench-4096MiB.* when done).
 * MEMORY_BENCH_MODES  stdout,mse,dir,library,library-lend,library-iterate (stdout): `> /dev/shm/f`;
 *                     the same with `--encryption require` against seeders that require MSE/PE;
 *                     `-o DIR` into /dev/shm; the library's download() in a plain `node` (no CLI
 *                     flags, bench/memory-library.ts) piped to a file on /dev/shm (the file
 *                     borrows piece memory); the same with `lendBuffers` and a lendingWriter, as
 *                     the CLI does; `for await` over it into the file (copies).
 * MEMORY_BENCH_BIN    the CLI to measure (this tree's bin/bt-stream.js): another build's, to compare.
 * MEMORY_BENCH_ROUNDS runs per size and mode (1); BENCH_SEEDERS libtorrent seeders (4).
 * MEMORY_BENCH_LIBRARY_FLAGS  node flags for the library mode's process, e.g.
 *                     `--max-semi-space-size=1`: what a host can add to the heap hold download() takes itself.
 *
 * The breakdown comes from bench/memory-probe.ts inside the measured process (V8's heap, Node's
 * ArrayBuffer count, at that process's own RssAnon peak) and /proc/PID/smaps (glibc's main malloc
 * arena `[heap]`, where Buffers live, against every other anonymous mapping: V8's pages, thread
 * stacks, the worker threads' arenas).
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Children } from './swarm/children.js'
import { ensureBenchData, torrentPath } from './swarm/data-cache.js'
import { hasLibtorrent, startLibtorrentSeeders, type Seeders } from './swarm/seeders.js'
import type { ProbeReport } from './memory-probe.js'

const SAMPLE_MS = 50
const MIB = 1024 * 1024
const PIECE_KIB = 256
/** The CLI's and the library's default window (lib/session/download.ts DEFAULT_WINDOW_BYTES). */
const WINDOW_MIB = 16
/** smaps is re-read at a new RssAnon peak only once it passed the last read by this much. */
const SMAPS_STEP = MIB
/** RAM, so the sink never slows the download and costs no page cache the process is charged for. */
const SINK_DIR = '/dev/shm'

const MODES = ['stdout', 'mse', 'dir', 'library', 'library-lend', 'library-iterate'] as const
/** The library modes: how bench/memory-library.ts reads the download. */
const LIBRARY_HOW: Partial<Record<Mode, string>> = { library: 'pipe', 'library-lend': 'lend', 'library-iterate': 'iterate' }
type Mode = typeof MODES[number]

const HERE = fileURLToPath(new URL('.', import.meta.url))
const PROBE = join(HERE, 'memory-probe.js')
const LIBRARY_CHILD = join(HERE, 'memory-library.js')
const DEFAULT_BIN = fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))

interface Peak {
  readonly rssAnon: number
  readonly vmHwm: number
  /** At the RssAnon peak: glibc's main arena, and every other anonymous mapping. */
  readonly mallocHeap: number
  readonly otherAnon: number
}

interface Run {
  readonly mode: Mode
  readonly sizeMiB: number
  readonly peak: Peak
  readonly probe: ProbeReport | undefined
  readonly wallS: number
  readonly cpuS: number
  readonly ok: boolean
}

function statusField (status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)
  return m === null ? 0 : Number(m[1]) * 1024
}

/** Anonymous bytes of glibc's main arena and of every other mapping, from /proc/PID/smaps. */
function anonSplit (pid: number): { mallocHeap: number, otherAnon: number } {
  let mallocHeap = 0
  let otherAnon = 0
  let name = ''
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (head !== null) { name = head[1] ?? ''; continue }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line)
    if (anon === null) continue
    if (name === '[heap]') mallocHeap += Number(anon[1]) * 1024
    else otherAnon += Number(anon[1]) * 1024
  }
  return { mallocHeap, otherAnon }
}

/** Samples RssAnon and VmHWM of `pid` until stopped; smaps is read at the RssAnon peak. */
function samplePeak (pid: number): { stop: () => Peak } {
  let peak: Peak = { rssAnon: 0, vmHwm: 0, mallocHeap: 0, otherAnon: 0 }
  let smapsAt = 0
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'latin1')
      const rssAnon = statusField(status, 'RssAnon')
      const vmHwm = Math.max(peak.vmHwm, statusField(status, 'VmHWM'))
      if (rssAnon > peak.rssAnon) {
        const split = rssAnon >= smapsAt + SMAPS_STEP ? anonSplit(pid) : peak
        if (split !== peak) smapsAt = rssAnon
        peak = { rssAnon, vmHwm, mallocHeap: split.mallocHeap, otherAnon: split.otherAnon }
      } else {
        peak = { ...peak, vmHwm }
      }
    } catch {
      // exited between two samples: the last one stands
    }
  }
  const timer = setInterval(sample, SAMPLE_MS)
  return { stop: () => { clearInterval(timer); return peak } }
}

function cpuSecondsOf (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime (fields 14 and 15) in USER_HZ (100 on every Linux ABI node runs on)
    return (Number(rest[11]) + Number(rest[12])) / 100
  } catch {
    return 0
  }
}

async function runOnce (children: Children, mode: Mode, sizeMiB: number, torrent: string, ports: number[], bin: string, expected: number): Promise<Run> {
  const scratch = mkdtempSync(join(SINK_DIR, 'bt-memory-'))
  const probeOut = join(scratch, 'probe.json')
  const file = join(scratch, 'out.bin')
  const peers = ports.flatMap(p => ['--peer', `127.0.0.1:${p}`])
  let args: string[]
  let stdoutFd: number | 'ignore' = 'ignore'
  const how = LIBRARY_HOW[mode]
  if (how !== undefined) {
    const flags = (process.env.MEMORY_BENCH_LIBRARY_FLAGS ?? '').split(' ').filter(f => f !== '')
    args = [...flags, '--import', PROBE, LIBRARY_CHILD, how, torrent, file, ...ports.map(String)]
  } else {
    args = ['--import', PROBE, bin, torrent, ...peers, '--no-utp', '--quiet']
    if (mode === 'mse') args.push('--encryption', 'require')
    if (mode === 'dir') args.push('-o', join(scratch, 'dir'))
    else stdoutFd = openSync(file, 'w')
  }
  const started = performance.now()
  const child = children.start(process.execPath, args, { stdio: ['ignore', stdoutFd, 'pipe'], env: { ...process.env, MEMORY_PROBE_OUT: probeOut } })
  if (typeof stdoutFd === 'number') closeSync(stdoutFd)
  const sampler = samplePeak(child.pid)
  let cpuS = 0
  const cpu = setInterval(() => { cpuS = Math.max(cpuS, cpuSecondsOf(child.pid)) }, SAMPLE_MS)
  const exit = await child.exited
  clearInterval(cpu)
  const peak = sampler.stop()
  const wallS = (performance.now() - started) / 1000
  let probe: ProbeReport | undefined
  try { probe = JSON.parse(readFileSync(probeOut, 'utf8')) as ProbeReport } catch { probe = undefined }
  const written = mode === 'dir' ? sizeOfTree(join(scratch, 'dir')) : sizeOf(file)
  const ok = exit.code === 0 && written === expected
  if (!ok) process.stderr.write(`${mode} ${sizeMiB} MiB: exit ${String(exit.code)}, ${written} bytes of ${expected}\n${child.stderrTail()}\n`)
  rmSync(scratch, { recursive: true, force: true })
  return { mode, sizeMiB, peak, probe, wallS, cpuS: child.usage().cpuSeconds || cpuS, ok }
}

function sizeOf (path: string): number {
  try { return statSync(path).size } catch { return -1 }
}

/** Bytes written at `path`: a single-file torrent's file, or every file under a directory. */
function sizeOfTree (path: string): number {
  try {
    if (!statSync(path).isDirectory()) return statSync(path).size
    let total = 0
    for (const name of readdirSync(path)) total += sizeOfTree(join(path, name))
    return total
  } catch { return -1 }
}

const mb = (n: number): string => (n / MIB).toFixed(1)

/**
 * One line per run: the peak, then where it was. The probe's numbers are V8's and Node's view of
 * the main thread at its own RssAnon peak, and the largest over the run: glibc keeps what a Buffer
 * freed for the next malloc (nothing in JS can trim it), so RssAnon stays at the high-water mark
 * of ArrayBuffers, not at their count at that instant. "rest" is RssAnon less the largest V8 heap
 * and ArrayBuffers: the helper thread's isolate (~8.5 MiB), Node's and V8's own malloc, code
 * outside the heap, thread stacks.
 */
function formatRun (r: Run): string {
  const p = r.probe
  const head = `${r.mode.padEnd(12)} ${String(r.sizeMiB).padStart(5)} MiB  RssAnon ${mb(r.peak.rssAnon).padStart(5)}  VmHWM ${(r.peak.vmHwm / 1e6).toFixed(0).padStart(4)} MB  ` +
    `${r.wallS.toFixed(1)} s ${r.cpuS.toFixed(1)} CPU s${r.ok ? '' : '  FAILED'}`
  const where = `        malloc [heap] ${mb(r.peak.mallocHeap)}, other anon ${mb(r.peak.otherAnon)}`
  if (p === undefined) return `${head}\n${where}`
  const window = Math.min(p.maxArrayBuffers, WINDOW_MIB * MIB)
  const rest = p.rssAnon - p.maxHeapTotal - p.maxArrayBuffers
  return `${head}\n${where}\n` +
    `        V8 heap ${mb(p.maxHeapTotal)} (at the peak: young ${mb(p.newSpace)}, used ${mb(p.heapUsed)}), ` +
    `ArrayBuffers ${mb(p.maxArrayBuffers)} (window <= ${mb(window)}, transient ${mb(p.maxArrayBuffers - window)}; at the peak ${mb(p.arrayBuffers)}), rest ${mb(rest)}`
}

/** The memory rows (bench/index.ts: `BENCH_ONLY=memory`). */
export async function printMemoryBench (out: NodeJS.WritableStream): Promise<void> {
  if (!hasLibtorrent()) { out.write('memory: python3-libtorrent is missing, skipped\n'); return }
  const sizes = (process.env.MEMORY_BENCH_SIZES ?? '256,1024').split(',').map(Number)
  const modes = (process.env.MEMORY_BENCH_MODES ?? 'stdout').split(',') as Mode[]
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`MEMORY_BENCH_MODES: unknown mode ${m} (${MODES.join(', ')})`)
  const rounds = Number(process.env.MEMORY_BENCH_ROUNDS ?? 1)
  const seederCount = Number(process.env.BENCH_SEEDERS ?? 4)
  const bin = process.env.MEMORY_BENCH_BIN ?? DEFAULT_BIN
  const children = new Children()
  const log = (s: string): void => { process.stderr.write(`memory: ${s}\n`) }
  out.write(`# Peak memory of one download (${seederCount} libtorrent seeders, loopback, ${PIECE_KIB} KiB pieces, ${WINDOW_MIB} MiB window; RssAnon MiB, VmHWM MB)\n`)
  try {
    for (const sizeMiB of sizes) {
      const data = await ensureBenchData(sizeMiB, log)
      const torrent = torrentPath(data, PIECE_KIB)
      // MSE/PE-only seeders refuse plaintext peers: the mse mode gets its own.
      for (const encrypted of [false, true]) {
        const here = modes.filter(m => (m === 'mse') === encrypted)
        if (here.length === 0) continue
        const before = process.env.BENCH_ENCRYPTION
        if (encrypted) process.env.BENCH_ENCRYPTION = 'forced'
        let seeders: Seeders
        try {
          seeders = await startLibtorrentSeeders(children, data, torrent, { count: seederCount, pieceKiB: PIECE_KIB })
        } finally {
          if (before === undefined) delete process.env.BENCH_ENCRYPTION
          else process.env.BENCH_ENCRYPTION = before
        }
        try {
          for (let r = 0; r < rounds; r++) {
            for (const mode of here) {
              const run = await runOnce(children, mode, sizeMiB, torrent, seeders.ports, bin, data.size)
              out.write(formatRun(run) + '\n')
            }
          }
        } finally {
          await seeders.close()
        }
      }
    }
  } finally {
    await children.killAll()
  }
}

// Run as a script (`node dist/bench/memory.js`); imported, it only exports.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printMemoryBench(process.stdout).catch((err: unknown) => {
    process.stderr.write(`memory: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exitCode = 1
  })
}
