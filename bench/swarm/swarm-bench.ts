import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statfsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Server } from 'bittorrent-tracker'
import { type GoalId, recordGoal } from '../goals.js'
import { Children } from './children.js'
import { newestProfile, topSelfTime } from './cpu-profile-top.js'
import { benchDir, type BenchData, ensureBenchData, torrentPath } from './data-cache.js'
import {
  BT_STREAM, createScratch, type FirstByte, removeScratch, runAria2, runBtStream, runBtStreamFile, runBtStreamFirstByte,
  runLibtorrent, runLibtorrentFirstPiece, type Run, SCRATCH_BASE, type Target
} from './downloaders.js'
import { measureLimits, type Limits } from './limits.js'
import { hasLibtorrent, startLibtorrentSeeders, startWebtorrentSeeders, type Seeders } from './seeders.js'
import { type ClientRuns, cpuPerGiB, formatClients, formatLimits, median, mediansOf, table } from './table.js'

/**
 * The download benchmark (issues 5 and 18): swarms of libtorrent 2.0 seeders on loopback, one
 * file, downloaded by bt-stream and by libtorrent's own leecher from the same seeders, runs
 * interleaved (round r starts with client r, so none always runs first or after the same one);
 * every run's bytes are checked, and the tables give medians with min-max. The rows are issue
 * 18's goal rows (bench/README.md):
 *
 *  1. BENCH_SIZE_MIB (1024), BENCH_SEEDERS (4), BENCH_PIECE_KIB (256): `bt-stream > file` (stdout
 *     is a file on /dev/shm), `bt-stream | cat > file`, the library's download() > file, libtorrent
 *     into /dev/shm; then the first stdout byte after the first unchoke (and libtorrent's first
 *     verified piece after its own).
 *  2. the same with 1 seeder; 3. with 16 seeders; 4. with 64 KiB pieces (4 seeders).
 *  5. bt-stream's peak RssAnon at 256 MiB, BENCH_SIZE_MIB and 4 GiB (BENCH_FLAT_SIZES_MIB).
 *
 * env: BENCH_RUNS (3), BENCH_RUN_TIMEOUT_S (120, per GiB), BENCH_DIR, BENCH_SWARM_ROWS (which of
 * 4,1,16,64k; all), BENCH_FLAT_SIZES_MIB ("256,<size>,4096"; "0": none), BENCH_SWARM_EXTRA=1
 * (also `| node sha1`, `| node count` and aria2c in row 1), BENCH_CPU_PROF=dir (one more
 * `bt-stream > file` run under --cpu-prof, top 10), BENCH_LIMITS=0, BENCH_SEEDER=webtorrent,
 * BENCH_BT_ARGS, BENCH_BT_STREAM.
 */

/** Runs per client: a median needs at least 3 to shrug off one outlier. */
const DEFAULT_RUNS = 3
const MiB = 1024 * 1024
const GiB = 1024 * MiB
/** Only for the time estimate: a download here, and the SHA-1 check of its file after it. */
const GUESS_DOWNLOAD_MIBPS = 150
const GUESS_CHECK_MIBPS = 600
const GUESS_START_S = 1.5
/** Room to leave on a file system after the 4 GiB file (or its download) is on it. */
const SPACE_MARGIN = GiB
/** Top self-time functions printed from the BENCH_CPU_PROF run. */
const PROFILE_TOP = 10

const CLIENT_FILE = 'bt-stream > file'
const CLIENT_CAT = 'bt-stream | cat > file'
const CLIENT_LIBRARY = 'library download() > file'
const CLIENT_LT = 'libtorrent 2.0 (python)'

interface Config {
  readonly key: string
  readonly seeders: number
  readonly pieceKiB: number
  readonly goal: GoalId
  /** Row 1: the first-byte rows, the profile and the extra clients run with it. */
  readonly main: boolean
}

interface Settings {
  readonly sizeMiB: number
  readonly rounds: number
  readonly timeoutMs: number
  readonly configs: readonly Config[]
  readonly flatSizes: readonly number[]
  readonly extra: boolean
  readonly btArgs: string[]
  readonly profDir: string | undefined
}

function settings (): Settings {
  const sizeMiB = envInt('BENCH_SIZE_MIB', 1024)
  const seeders = envInt('BENCH_SEEDERS', 4)
  const pieceKiB = envInt('BENCH_PIECE_KIB', 256)
  const all: Config[] = [
    { key: String(seeders), seeders, pieceKiB, goal: 'speed.4seeders', main: true },
    { key: '1', seeders: 1, pieceKiB, goal: 'speed.1seeder', main: false },
    { key: '16', seeders: 16, pieceKiB, goal: 'speed.16seeders', main: false },
    { key: '64k', seeders, pieceKiB: 64, goal: 'speed.64kPieces', main: false }
  ]
  const rows = (process.env.BENCH_SWARM_ROWS ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
  for (const r of rows) if (!all.some(c => c.key === r)) throw new Error(`BENCH_SWARM_ROWS=${process.env.BENCH_SWARM_ROWS}: rows are ${all.map(c => c.key).join(',')}`)
  const flatEnv = process.env.BENCH_FLAT_SIZES_MIB ?? `256,${sizeMiB},4096`
  const flatSizes = flatEnv === '0' ? [] : [...new Set(flatEnv.split(',').map(s => Number(s.trim())))].sort((a, b) => a - b)
  for (const s of flatSizes) if (!Number.isInteger(s) || s <= 0) throw new Error(`BENCH_FLAT_SIZES_MIB=${flatEnv}: sizes in MiB, comma-separated`)
  const profDir = process.env.BENCH_CPU_PROF
  return {
    sizeMiB,
    rounds: envInt('BENCH_RUNS', DEFAULT_RUNS),
    timeoutMs: envInt('BENCH_RUN_TIMEOUT_S', 120) * 1000,
    configs: rows.length === 0 ? all : all.filter(c => rows.includes(c.key)),
    flatSizes,
    extra: process.env.BENCH_SWARM_EXTRA === '1',
    btArgs: (process.env.BENCH_BT_ARGS ?? '').split(' ').filter(a => a !== ''),
    profDir: profDir === undefined || profDir === '' ? undefined : profDir
  }
}

const title = (sizeMiB: number, c: Config): string => `${sizeMiB >= 1024 && sizeMiB % 1024 === 0 ? `${sizeMiB / 1024} GiB` : `${sizeMiB} MiB`}, ${c.seeders} seeder${c.seeders === 1 ? '' : 's'}, ${c.pieceKiB} KiB pieces`

/** Seconds the run will take, roughly: what the user is told before it starts. */
function estimateSeconds (s: Settings): number {
  const run = (mib: number): number => mib / GUESS_DOWNLOAD_MIBPS + mib / GUESS_CHECK_MIBPS + GUESS_START_S
  let total = 0
  for (const c of s.configs) {
    total += (c.main ? (s.extra ? 7 : 4) : 3) * s.rounds * run(s.sizeMiB)
    if (c.main) total += 2 * s.rounds * 2 * GUESS_START_S + (s.profDir === undefined ? 0 : run(s.sizeMiB))
  }
  const reused = s.configs.some(c => c.main)
  for (const mib of s.flatSizes) if (!(reused && mib === s.sizeMiB)) total += s.rounds * run(mib)
  return total
}

export async function printSwarmBench (out: NodeJS.WritableStream): Promise<void> {
  const began = performance.now()
  const s = settings()
  const log = (line: string): void => { out.write(`  ${line}\n`) }
  const children = new Children()
  const scratch = createScratch()
  const onSignal = (): void => { void children.close().finally(() => { removeScratch(scratch); process.exit(130) }) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const tables: string[] = []
  try {
    out.write(`swarm download (issue 18 rows): ${s.sizeMiB} MiB; rows ${s.configs.map(c => c.key).join(', ')} (seeders or 64k pieces); ` +
      `peak memory at ${s.flatSizes.length === 0 ? 'no sizes' : s.flatSizes.map(m => `${m} MiB`).join(', ')}; ${s.rounds} interleaved runs per client\n`)
    log(`estimate: about ${Math.ceil(estimateSeconds(s) / 60)} min at ~${GUESS_DOWNLOAD_MIBPS} MiB/s a download (making a missing data file or torrent adds to it; the end says how long it took)`)
    if (s.rounds < DEFAULT_RUNS) log(`BENCH_RUNS=${s.rounds}: fewer than ${DEFAULT_RUNS} runs, so a "median" is one sample or a mean of two`)
    if (s.btArgs.length > 0) log(`bt-stream runs with ${s.btArgs.join(' ')}`)
    let limits: Limits | undefined
    if (process.env.BENCH_LIMITS !== '0') {
      log('measuring machine limits (SHA-1, loopback TCP, pipe)')
      limits = await measureLimits(children)
    }
    log(`scratch directory: ${scratch}`)
    const libtorrent = process.env.BENCH_SEEDER !== 'webtorrent' && hasLibtorrent()
    const noLt = process.env.BENCH_SEEDER === 'webtorrent'
      ? 'BENCH_SEEDER=webtorrent'
      : 'python3-libtorrent not found for /usr/bin/python3 (apt-get install -y python3-libtorrent)'
    if (!libtorrent) log(`${noLt}: webtorrent seeders for row 1 only, no libtorrent rows`)
    const data = await ensureBenchData(s.sizeMiB, log)

    let mainFile: ClientRuns | undefined
    let firstBytes: { bt: FirstByteRuns, lt: FirstByteRuns } | undefined
    let profile: string | undefined
    for (const c of s.configs) {
      const name = title(s.sizeMiB, c)
      if (!libtorrent && !c.main) { tables.push(`${name}: skipped: ${noLt}\n`); continue }
      out.write(`${name}\n`)
      let r: ConfigResult
      try {
        r = await runConfig(children, c, data, scratch, s, libtorrent, noLt, log)
      } catch (err) {
        // Its seeders did not start (or the tracker): the other rows still run.
        log(`${name}: FAILED: ${(err as Error).message.split('\n')[0] ?? ''}`)
        tables.push(`${name}: FAILED: ${(err as Error).message.split('\n')[0] ?? ''}\n`)
        continue
      }
      const clients = [...r.clients.values()]
      tables.push(formatClients(`${name}: medians (min-max) of ${s.rounds} interleaved runs; RssAnon for both (VmHWM counts libtorrent's mapped file)`, clients, data.size, libtorrent ? CLIENT_LT : undefined))
      recordSpeed(c, r.clients, data.size)
      if (c.main) {
        mainFile = r.clients.get(CLIENT_FILE)
        firstBytes = r.firstBytes
        profile = r.profile
        recordMain(r.clients, data.size, s.btArgs)
      }
    }
    if (firstBytes !== undefined) recordFirstByte(firstBytes.bt, firstBytes.lt)
    if (firstBytes !== undefined) tables.push(formatFirstBytes(firstBytes, title(s.sizeMiB, s.configs.find(c => c.main) as Config), s.rounds))

    if (s.flatSizes.length > 0) {
      if (!libtorrent) tables.push(`memory at ${s.flatSizes.join(', ')} MiB: skipped: ${noLt}\n`)
      else tables.push(await memoryFlatness(children, s, scratch, mainFile, log))
    }
    recordForcedGc()

    out.write('\n' + tables.join('\n'))
    if (limits !== undefined) out.write(formatLimits(limits))
    if (profile !== undefined) out.write(profile)
    out.write(`swarm download: took ${((performance.now() - began) / 60_000).toFixed(1)} min\n`)
  } finally {
    await children.killAll()
    removeScratch(scratch)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

interface FirstByteRuns { readonly samples: FirstByte[], readonly errors: string[], skipped?: string }

interface ConfigResult {
  readonly clients: Map<string, ClientRuns>
  readonly firstBytes?: { bt: FirstByteRuns, lt: FirstByteRuns }
  readonly profile?: string
}

/** One swarm: its seeders up, every client's runs interleaved, then (row 1) first bytes and the profile. */
async function runConfig (children: Children, c: Config, data: BenchData, scratch: string, s: Settings, libtorrent: boolean, noLt: string, log: (s: string) => void): Promise<ConfigResult> {
  const clients = new Map<string, ClientRuns>()
  const resultOf = (client: string): ClientRuns => {
    let r = clients.get(client)
    if (r === undefined) clients.set(client, r = { client, runs: [], errors: [] })
    return r
  }
  let seeders: Seeders | undefined
  let tracker: Server | undefined
  try {
    const aria2 = c.main && s.extra && spawnSync('aria2c', ['--version'], { stdio: 'ignore' }).status === 0
    if (c.main && s.extra && !aria2) log('aria2c not found: its row skipped (apt-get install -y aria2)')
    let announce: string | undefined
    if (aria2) {
      tracker = new Server({ udp: false, ws: false, stats: false, http: true })
      await new Promise<void>(resolve => tracker?.listen(0, '127.0.0.1', () => resolve()))
      announce = `http://127.0.0.1:${(tracker.http?.address() as { port: number }).port}/announce`
    }
    const seederOpts = { count: c.seeders, pieceKiB: c.pieceKiB, tracker: announce }
    const torrent = torrentPath(data, c.pieceKiB)
    if (libtorrent) {
      log(`starting ${c.seeders} libtorrent seeder${c.seeders === 1 ? '' : 's'}${existsSync(torrent) ? '' : ` (making ${torrent} first)`}`)
      seeders = await startLibtorrentSeeders(children, data, torrent, seederOpts)
    } else {
      seeders = await startWebtorrentSeeders(data, torrent, seederOpts)
    }
    const sd = seeders
    const target: Target = { data, torrent: sd.torrent, ports: sd.ports, timeoutMs: scaledTimeout(s.timeoutMs, data.size), scratch }
    const attempt = async (client: string, label: string, run: () => Promise<Run>): Promise<void> => {
      const result = resultOf(client)
      try {
        const cpu0 = sd.cpuSeconds()
        const sent0 = await sd.uploaded()
        const r = await run()
        // The sampler reads /proc every 50 ms: wait one period so the seeders' count is current.
        await new Promise(resolve => setTimeout(resolve, 100))
        const sent = await sd.uploaded() - sent0
        result.runs.push({ ...r, seederCpuSeconds: sd.cpuSeconds() - cpu0, sentRatio: sent / data.size })
        log(`${label} ${client}: ${r.mibps.toFixed(0)} MiB/s, CPU ${cpuPerGiB(r, data.size).toFixed(2)} s/GiB, RssAnon ${(r.peakRssAnon / MiB).toFixed(0)} MiB, bytes checked`)
      } catch (err) {
        result.errors.push((err as Error).message)
        log(`${label} ${client} failed: ${(err as Error).message.split('\n')[0] ?? ''}`)
      }
    }
    const btOpts = { extraArgs: s.btArgs }
    const list: Array<{ client: string, run: () => Promise<Run> }> = [
      { client: CLIENT_FILE, run: () => runBtStreamFile(children, target, btOpts) },
      { client: CLIENT_CAT, run: () => runBtStream(children, target, 'cat', btOpts) }
    ]
    // The memory goal is for library users too: their download() beside the CLI, in row 1.
    if (c.main) list.push({ client: CLIENT_LIBRARY, run: () => runBtStreamFile(children, target, { library: true }) })
    if (c.main && s.extra) {
      list.push({ client: 'bt-stream | node sha1', run: () => runBtStream(children, target, 'hash', btOpts) })
      list.push({ client: 'bt-stream | node count', run: () => runBtStream(children, target, 'count', btOpts) })
    }
    if (libtorrent) list.push({ client: CLIENT_LT, run: () => runLibtorrent(children, target) })
    if (announce !== undefined) {
      const url = announce
      list.push({ client: 'aria2c', run: () => runAria2(children, target, url) })
    }
    for (const x of list) resultOf(x.client) // the table's rows in this order
    if (!libtorrent) resultOf(CLIENT_LT).skipped = noLt
    for (let round = 0; round < s.rounds; round++) {
      for (let k = 0; k < list.length; k++) {
        const x = list[(round + k) % list.length] as typeof list[number]
        await attempt(x.client, `run ${round + 1}/${s.rounds}:`, x.run)
      }
    }
    if (!c.main) return { clients }
    const firstBytes = await firstByteRounds(children, target, s, libtorrent, noLt, log)
    let profile: string | undefined
    if (s.profDir !== undefined) {
      const dir = s.profDir
      mkdirSync(dir, { recursive: true })
      await attempt(`${CLIENT_FILE}, --cpu-prof`, 'one more run:', async () => ({ ...await runBtStreamFile(children, target, { ...btOpts, cpuProfDir: dir }), note: `profile in ${dir}` }))
      const file = newestProfile(dir)
      if (file !== undefined) profile = `CPU profile of one \`${CLIENT_FILE}\` run (main thread), ${file}\n` + topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof topSelfTime>[0], PROFILE_TOP)
    }
    return { clients, firstBytes, profile }
  } finally {
    await seeders?.close().catch(() => {})
    if (tracker !== undefined) await new Promise<void>(resolve => tracker?.close(() => resolve()))
  }
}

/** bt-stream's first stdout byte and libtorrent's first verified piece, alternating which goes first. */
async function firstByteRounds (children: Children, target: Target, s: Settings, libtorrent: boolean, noLt: string, log: (s: string) => void): Promise<{ bt: FirstByteRuns, lt: FirstByteRuns }> {
  const bt: FirstByteRuns = { samples: [], errors: [] }
  const lt: FirstByteRuns = { samples: [], errors: [] }
  if (!libtorrent) lt.skipped = noLt
  const one = async (side: FirstByteRuns, name: string, label: string, run: () => Promise<FirstByte>): Promise<void> => {
    try {
      const f = await run()
      side.samples.push(f)
      log(`${label} ${name}: ${f.fromUnchoke.toFixed(3)} s after the first unchoke, ${f.fromSpawn.toFixed(2)} s from spawn`)
    } catch (err) {
      side.errors.push((err as Error).message)
      log(`${label} ${name} failed: ${(err as Error).message.split('\n')[0] ?? ''}`)
    }
  }
  for (let round = 0; round < s.rounds; round++) {
    const label = `first byte ${round + 1}/${s.rounds}:`
    const b = async (): Promise<void> => await one(bt, 'bt-stream first stdout byte', label, () => runBtStreamFirstByte(children, target, s.btArgs))
    const l = async (): Promise<void> => { if (libtorrent) await one(lt, 'libtorrent first verified piece', label, () => runLibtorrentFirstPiece(children, target)) }
    if (round % 2 === 0) { await b(); await l() } else { await l(); await b() }
  }
  return { bt, lt }
}

function formatFirstBytes (r: { bt: FirstByteRuns, lt: FirstByteRuns }, name: string, rounds: number): string {
  const row = (client: string, what: string, x: FirstByteRuns): string[] => {
    const ok = `${x.samples.length}/${x.samples.length + x.errors.length}`
    if (x.skipped !== undefined) return [client, '-', '-', '-', `skipped: ${x.skipped}`]
    const failed = x.errors.length === 0 ? '' : `; ${x.errors.length} FAILED: ${x.errors[0]?.split('\n')[0] ?? ''}`
    const sp = (v: number[]): string => {
      const m = median(v)
      return m === undefined ? '-' : v.length === 1 ? m.toFixed(3) : `${m.toFixed(3)} (${Math.min(...v).toFixed(3)}-${Math.max(...v).toFixed(3)})`
    }
    return [client, ok, sp(x.samples.map(f => f.fromUnchoke)), sp(x.samples.map(f => f.fromSpawn)), what + failed]
  }
  return table(`first byte, ${name}: medians (min-max) of ${rounds} interleaved runs, seconds`,
    ['client', 'ok', 'after 1st unchoke', 'from spawn', 'what'],
    [
      row('bt-stream > file', 'first stdout byte written (bench/swarm/first-byte-probe.ts)', r.bt),
      row(CLIENT_LT, 'first verified piece; unchoke from its peer log', r.lt)
    ])
}

/** Row 5: bt-stream's peak RssAnon over file sizes, 4 seeders, the same `> file` sink. */
async function memoryFlatness (children: Children, s: Settings, scratch: string, mainFile: ClientRuns | undefined, log: (s: string) => void): Promise<string> {
  const main = s.configs.find(c => c.main)
  const seeders = main?.seeders ?? envInt('BENCH_SEEDERS', 4)
  const pieceKiB = main?.pieceKiB ?? envInt('BENCH_PIECE_KIB', 256)
  const rows: string[][] = []
  const medians: Array<{ mib: number, rss: number }> = []
  const skipped: string[] = []
  for (const mib of s.flatSizes) {
    const label = mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`
    let runs: ClientRuns | undefined
    if (mib === s.sizeMiB && mainFile !== undefined) {
      runs = mainFile
    } else {
      const room = spaceFor(mib)
      if (room !== undefined) {
        log(`memory at ${label}: skipped: ${room}`)
        rows.push([label, '-', '-', '-', '-', `skipped: ${room}`])
        skipped.push(label)
        continue
      }
      {
        runs = { client: CLIENT_FILE, runs: [], errors: [] }
        let sd: Seeders | undefined
        try {
          const data = await ensureBenchData(mib, log)
          const torrent = torrentPath(data, pieceKiB)
          log(`memory at ${label}: starting ${seeders} libtorrent seeders${existsSync(torrent) ? '' : ` (making ${torrent} first)`}`)
          sd = await startLibtorrentSeeders(children, data, torrent, { count: seeders, pieceKiB })
          const target: Target = { data, torrent: sd.torrent, ports: sd.ports, timeoutMs: scaledTimeout(s.timeoutMs, data.size), scratch }
          for (let round = 0; round < s.rounds; round++) {
            try {
              const r = await runBtStreamFile(children, target, { extraArgs: s.btArgs })
              runs.runs.push(r)
              log(`memory at ${label}, run ${round + 1}/${s.rounds}: RssAnon ${(r.peakRssAnon / MiB).toFixed(0)} MiB, ${r.mibps.toFixed(0)} MiB/s, bytes checked`)
            } catch (err) {
              runs.errors.push((err as Error).message)
              log(`memory at ${label}, run ${round + 1}/${s.rounds} failed: ${(err as Error).message.split('\n')[0] ?? ''}`)
            }
          }
        } catch (err) {
          runs.errors.push((err as Error).message)
          log(`memory at ${label}: its data or seeders failed: ${(err as Error).message.split('\n')[0] ?? ''}`)
        } finally {
          await sd?.close().catch(() => {})
        }
      }
    }
    const ok = `${runs.runs.length}/${runs.runs.length + runs.errors.length}`
    const rss = runs.runs.map(r => r.peakRssAnon / MiB)
    const m = median(rss)
    if (m === undefined) { rows.push([label, ok, '-', '-', '-', `FAILED: ${runs.errors[0]?.split('\n')[0] ?? ''}`]); continue }
    medians.push({ mib, rss: m })
    const size = mib * MiB
    rows.push([
      label, ok,
      rss.length === 1 ? m.toFixed(0) : `${m.toFixed(0)} (${Math.min(...rss).toFixed(0)}-${Math.max(...rss).toFixed(0)})`,
      (median(runs.runs.map(r => r.peakRss / MiB)) as number).toFixed(0),
      (mediansOf(runs, size).mibps as number).toFixed(0),
      mib === s.sizeMiB && runs === mainFile ? 'the runs of the first table' : ''
    ])
  }
  if (medians.length >= 2) {
    const hi = Math.max(...medians.map(x => x.rss))
    const lo = Math.min(...medians.map(x => x.rss))
    recordGoal('memory.flat', hi - lo, `${medians.map(x => `${x.rss.toFixed(0)}`).join(' / ')} MiB at ${medians.map(x => `${x.mib}`).join(' / ')} MiB${skipped.length > 0 ? `; ${skipped.join(', ')} skipped` : ''}`)
  }
  return table(`memory: \`${CLIENT_FILE}\`, ${seeders} libtorrent seeders, ${pieceKiB} KiB pieces; peak RssAnon (sampled every 50 ms), medians (min-max) of ${s.rounds} runs`,
    ['file', 'ok', 'RssAnon MiB', 'VmHWM MiB', 'MiB/s', 'note'], rows)
}

/** Why a size cannot run here (its data file in BENCH_DIR, its download in the scratch dir), or undefined. */
function spaceFor (mib: number): string | undefined {
  const size = mib * MiB
  const dir = benchDir()
  mkdirSync(dir, { recursive: true })
  const cached = join(dir, `bench-${mib}MiB.bin`)
  const have = existsSync(cached) && statSync(cached).size === size
  const free = (path: string): number => { const f = statfsSync(path); return f.bavail * f.bsize }
  if (!have && free(dir) < size + SPACE_MARGIN) return `${(free(dir) / GiB).toFixed(1)} GiB free in ${dir}, ${mib} MiB of data + 1 GiB margin needed`
  if (free(SCRATCH_BASE) < size + SPACE_MARGIN) return `${(free(SCRATCH_BASE) / GiB).toFixed(1)} GiB free in ${SCRATCH_BASE}, ${mib} MiB download + 1 GiB margin needed`
  return undefined
}

/** BENCH_RUN_TIMEOUT_S is per GiB: a 4 GiB run gets four times as long, a small one no less. */
function scaledTimeout (timeoutMs: number, size: number): number {
  return Math.max(timeoutMs, Math.ceil(timeoutMs * size / GiB))
}

function recordSpeed (c: Config, clients: Map<string, ClientRuns>, size: number): void {
  const bt = clients.get(CLIENT_FILE)
  const lt = clients.get(CLIENT_LT)
  if (bt === undefined || lt === undefined) return
  const b = mediansOf(bt, size).mibps
  const l = mediansOf(lt, size).mibps
  if (b === undefined || l === undefined) return
  recordGoal(c.goal, b / l, `${b.toFixed(0)} vs ${l.toFixed(0)} MiB/s, ${size / MiB} MiB, ${c.seeders} seeder${c.seeders === 1 ? '' : 's'}, ${c.pieceKiB} KiB pieces, ${bt.runs.length}+${lt.runs.length} runs`)
}

/** Row 1's other goals: CPU per GiB against libtorrent's, and the peak memory. */
function recordMain (clients: Map<string, ClientRuns>, size: number, btArgs: string[]): void {
  const bt = clients.get(CLIENT_FILE)
  const lt = clients.get(CLIENT_LT)
  if (bt === undefined || bt.runs.length === 0) return
  const b = mediansOf(bt, size).cpuPerGiB as number
  const l = lt === undefined ? undefined : mediansOf(lt, size).cpuPerGiB
  if (l !== undefined) recordGoal('cpu.perGiB', b / l, `${b.toFixed(2)} vs ${l.toFixed(2)} CPU s/GiB (user+sys, all threads)`)
  // The goal is about the default window: a run with --window set says nothing about it.
  if (!btArgs.includes('--window')) {
    const peak = Math.max(...bt.runs.map(r => r.peakRssAnon)) / MiB
    recordGoal('memory.peak', peak, `${CLIENT_FILE}, ${size / MiB} MiB; largest of ${bt.runs.length} runs (median ${(median(bt.runs.map(r => r.peakRssAnon / MiB)) as number).toFixed(0)})`)
  }
  const library = clients.get(CLIENT_LIBRARY)
  if (library !== undefined && library.runs.length > 0) {
    const peak = Math.max(...library.runs.map(r => r.peakRssAnon)) / MiB
    recordGoal('memory.library', peak, `download(meta, { peers }) piped to a file, ${size / MiB} MiB; largest of ${library.runs.length} runs`)
  }
}

function recordFirstByte (bt: FirstByteRuns, lt: FirstByteRuns): void {
  const b = median(bt.samples.map(f => f.fromUnchoke))
  if (b === undefined) return
  const l = median(lt.samples.map(f => f.fromUnchoke))
  recordGoal('firstByte.afterUnchoke', b, `bt-stream > file, ${bt.samples.length} runs${l === undefined ? '' : `; libtorrent's first verified piece ${l.toFixed(3)} s`}`)
}

/**
 * "No forced GC": the bt-stream build this run measured (dist/lib beside its bin) is searched for
 * a way to force one (`--expose-gc`, `expose_gc`, a `gc()` from a `runInNewContext`): a count
 * of files, 0 to meet the goal. A static check: forcing GC needs one of these in the code.
 */
function recordForcedGc (): void {
  const lib = join(dirname(dirname(BT_STREAM)), 'dist', 'lib')
  if (!existsSync(lib)) return
  const hits: string[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.js') && /expose[-_]gc|runInNewContext\(\s*['"]gc['"]/.test(readFileSync(p, 'utf8'))) hits.push(p.slice(lib.length + 1))
    }
  }
  walk(lib)
  recordGoal('memory.noForcedGc', hits.length, hits.length === 0 ? `none in ${lib}` : hits.slice(0, 3).join(', '))
}

function envInt (name: string, fallback: number): number {
  const v = process.env[name]
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${v}: a positive integer, please`)
  return n
}
