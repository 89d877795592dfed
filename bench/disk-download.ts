import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Children, deadline, watchLines } from './swarm/children.js'
import { newestProfile, topSelfTime } from './swarm/cpu-profile-top.js'
import { type BenchData, ensureBenchData, fileSha1, torrentPath } from './swarm/data-cache.js'
import { hasLibtorrent, startLibtorrentSeeders, SYSTEM_PYTHON } from './swarm/seeders.js'
import { diskScratch, envInt, formatRow, interleave, MiB, recordRatio, type Sample } from './vs-libtorrent.js'

/**
 * Issue 18's `-o` row: `bt-stream x.torrent -o DIR/` and libtorrent 2.0's leecher
 * (bench/libtorrent-leecher.py) each download the same file (BENCH_SIZE_MIB, 1024 MiB) from the
 * same 4 libtorrent seeders (BENCH_SEEDERS) into a directory on a real disk (BENCH_DISK_DIR, else
 * under BENCH_DIR: not /dev/shm), runs interleaved, each file removed after its run.
 *
 * End of a run: bt-stream's exit (its storage fsyncs and renames the file before it exits, so
 * the clock includes that fsync); libtorrent's "done" (torrent_finished: every piece written to
 * the page cache, not fsynced). So the row favours libtorrent by the fsync; a second line gives
 * libtorrent's rate had it fsynced its file at `done` (the time an fsync of the file, started at
 * `done` from this process, takes, added to its time). The SHA-1 of each file is checked after
 * the clock stopped.
 *
 * Below the row: each client's peak RssAnon (sampled every 50 ms; libtorrent maps its file, so its
 * VmHWM would count the file's pages, RssAnon does not).
 *
 * env: BENCH_SIZE_MIB (1024), BENCH_PIECE_KIB (256), BENCH_SEEDERS (4), BENCH_RUNS (3),
 * BENCH_RUN_TIMEOUT_S (120), BENCH_DISK_DIR, BENCH_DISK_PROF=dir (one more bt-stream run under
 * --cpu-prof), BENCH_BT_ARGS, BENCH_BT_STREAM, BENCH_DISK_BASE (another build's bin/bt-stream.js:
 * one more run of it in each round, right after bt-stream's, and its own line; the way to compare
 * two builds of `-o` on one swarm at one time).
 */

const BT_STREAM = process.env.BENCH_BT_STREAM ?? fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))
const BASE = process.env.BENCH_DISK_BASE === '' ? undefined : process.env.BENCH_DISK_BASE
const LT_LEECHER = fileURLToPath(new URL('../../bench/libtorrent-leecher.py', import.meta.url))

export async function printDiskDownload (out: NodeJS.WritableStream): Promise<void> {
  if (!hasLibtorrent()) { out.write('-o to disk vs libtorrent: python3-libtorrent not found for /usr/bin/python3: skipped\n'); return }
  const sizeMiB = envInt('BENCH_SIZE_MIB', 1024)
  const pieceKiB = envInt('BENCH_PIECE_KIB', 256)
  const count = envInt('BENCH_SEEDERS', 4)
  const rounds = envInt('BENCH_RUNS', 3)
  const timeoutMs = envInt('BENCH_RUN_TIMEOUT_S', 120) * 1000
  const btExtra = (process.env.BENCH_BT_ARGS ?? '').split(' ').filter(a => a !== '')
  const log = (s: string): void => { out.write(`  ${s}\n`) }
  const children = new Children()
  const disk = diskScratch()
  let seeders: Awaited<ReturnType<typeof startLibtorrentSeeders>> | undefined
  try {
    out.write(`-o to disk vs libtorrent: ${count} libtorrent seeders on 127.0.0.1, ${sizeMiB} MiB, into ${disk.dir} (${disk.fs}), ${rounds} runs each, interleaved\n`)
    const data = await ensureBenchData(sizeMiB, log)
    seeders = await startLibtorrentSeeders(children, data, torrentPath(data, pieceKiB), { count, pieceKiB })
    const target = { data, torrent: seeders.torrent, peers: seeders.ports.map(p => `127.0.0.1:${p}`).join(','), timeoutMs, dir: disk.dir }
    const synced: number[] = []
    const rss: Rss = { bt: [], lt: [] }
    const base: Sample[] = []
    const baseRss: number[] = []
    const r = await interleave(rounds,
      async () => {
        const s = await runBtStreamToDisk(children, target, btExtra, [], rss.bt)
        if (BASE !== undefined) {
          const b = await runBtStreamToDisk(children, target, btExtra, [], baseRss, BASE)
          base.push(b)
          log(`  base build: ${b.mibps.toFixed(0)} MiB/s, CPU ${b.cpuSeconds.toFixed(2)} s, RssAnon ${((baseRss.at(-1) ?? 0) / MiB).toFixed(0)} MiB`)
        }
        return s
      },
      async () => await runLibtorrentToDisk(children, target, synced, log, rss.lt),
      log)
    out.write(formatRow(`-o to disk (${disk.fs}), ${sizeMiB} MiB from ${count} libtorrent seeders; medians of ${rounds} interleaved runs`, '`bt-stream -o` vs libtorrent leecher', 'leecher', r))
    recordRatio('disk.vsLibtorrent', r, `${sizeMiB} MiB from ${count} seeders, -o to ${disk.fs}`)
    const bt = median(r.bt.samples.map(s => s.mibps))
    const lt = median(synced)
    if (lt !== undefined) out.write(`libtorrent with an fsync of its file at done (as bt-stream ends): ${lt.toFixed(0)} MiB/s median${bt === undefined ? '' : `; bt/lt ${(bt / lt).toFixed(2)}x`}\n`)
    out.write(`peak RssAnon (MiB, median and min-max): bt-stream -o ${rssCell(rss.bt)}, libtorrent ${rssCell(rss.lt)}\n`)
    if (BASE !== undefined) {
      const rates = base.map(s => s.mibps)
      out.write(`base build ${BASE}: ${rates.length === 0 ? 'FAILED' : `${(median(rates) as number).toFixed(0)} MiB/s (${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}), CPU ${(median(base.map(s => s.cpuSeconds)) as number).toFixed(2)} s, peak RssAnon ${rssCell(baseRss)}`}\n`)
    }
    const profDir = process.env.BENCH_DISK_PROF
    if (profDir !== undefined && profDir !== '') {
      mkdirSync(profDir, { recursive: true })
      const s = await runBtStreamToDisk(children, target, [...btExtra], ['--cpu-prof', '--cpu-prof-dir', profDir])
      log(`one more run under --cpu-prof: ${s.mibps.toFixed(0)} MiB/s, CPU ${s.cpuSeconds.toFixed(2)} s`)
      const file = newestProfile(profDir)
      if (file !== undefined) out.write(`bt-stream -o ${file}\n` + topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof topSelfTime>[0], 25))
    }
  } finally {
    await seeders?.close().catch(() => {})
    await children.killAll()
    rmSync(disk.dir, { recursive: true, force: true })
  }
}

interface DiskTarget { readonly data: BenchData, readonly torrent: string, readonly peers: string, readonly timeoutMs: number, readonly dir: string }

const fileName = (d: BenchData): string => d.path.slice(d.path.lastIndexOf('/') + 1)

/** Peak RssAnon (bytes) of each run, per client: the process's own memory (bench/swarm/proc-stats.ts). */
interface Rss { readonly bt: number[], readonly lt: number[] }

function rssCell (xs: number[]): string {
  const m = median(xs)
  if (m === undefined) return '-'
  return `${(m / MiB).toFixed(0)} (${(Math.min(...xs) / MiB).toFixed(0)}-${(Math.max(...xs) / MiB).toFixed(0)})`
}

async function runBtStreamToDisk (children: Children, t: DiskTarget, extra: string[], nodeArgs: string[] = [], rss: number[] = [], bin = BT_STREAM): Promise<Sample> {
  const dir = mkdtempSync(join(t.dir, 'bt-'))
  const bt = children.start(process.execPath, [...nodeArgs, bin, t.torrent, '--peer', t.peers, '--no-trackers', '--no-dht', '--quiet', '-o', dir + '/', ...extra])
  try {
    const exit = await deadline(bt.exited, t.timeoutMs, 'bt-stream -o')
    if (exit.code !== 0) throw new Error(`bt-stream exited ${exit.code ?? exit.signal}\n${bt.stderrTail()}`)
    await checkFile(join(dir, fileName(t.data)), t.data)
    rss.push(bt.usage().peakRssAnon)
    return { mibps: t.data.size / MiB / ((exit.at - bt.startedAt) / 1000), cpuSeconds: bt.usage().cpuSeconds }
  } finally {
    await bt.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * `synced` gets libtorrent's rate had its run ended with an fsync of the file: the fsync starts
 * at its `done` (libtorrent 2.0 maps the file: an fsync through any descriptor writes the mapped
 * pages back).
 */
async function runLibtorrentToDisk (children: Children, t: DiskTarget, synced: number[], log: (s: string) => void, rss: number[]): Promise<Sample> {
  const dir = mkdtempSync(join(t.dir, 'lt-'))
  const lt = children.start(SYSTEM_PYTHON, [LT_LEECHER, t.torrent, dir, t.peers])
  try {
    const done = await watchLines(lt).when(l => l === 'done', t.timeoutMs)
    const syncStart = performance.now()
    const fh = await open(join(dir, fileName(t.data)), 'r')
    try { await fh.sync() } finally { await fh.close() }
    const syncMs = performance.now() - syncStart
    synced.push(t.data.size / MiB / ((done.at - lt.startedAt + syncMs) / 1000))
    log(`libtorrent: fsync of its file after done: ${syncMs.toFixed(0)} ms`)
    const exit = await deadline(lt.exited, 30_000, 'libtorrent leecher exit')
    if (exit.code !== 0) throw new Error(`libtorrent leecher exited ${exit.code ?? exit.signal}\n${lt.stderrTail()}`)
    await checkFile(join(dir, fileName(t.data)), t.data)
    rss.push(lt.usage().peakRssAnon)
    return { mibps: t.data.size / MiB / ((done.at - lt.startedAt) / 1000), cpuSeconds: lt.usage().cpuSeconds }
  } finally {
    await lt.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function median (xs: number[]): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2
}

async function checkFile (path: string, data: BenchData): Promise<void> {
  const got = existsSync(path) ? statSync(path).size : -1
  if (got !== data.size) throw new Error(`${path} has ${got} bytes, not ${data.size}`)
  const sha1 = await fileSha1(path)
  if (sha1 !== data.sha1) throw new Error(`${path} has SHA-1 ${sha1}, not the file's ${data.sha1}`)
}
