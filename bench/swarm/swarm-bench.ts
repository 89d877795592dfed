import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { Server } from 'bittorrent-tracker'
import { Children } from './children.js'
import { newestProfile, topSelfTime } from './cpu-profile-top.js'
import { ensureBenchData, torrentPath } from './data-cache.js'
import { createScratch, removeScratch, runAria2, runBtStream, runLibtorrent, type Run, type Target } from './downloaders.js'
import { measureLimits, type Limits } from './limits.js'
import { hasLibtorrent, startLibtorrentSeeders, startWebtorrentSeeders, type Seeders } from './seeders.js'
import { type ClientRuns, formatReport } from './table.js'

/**
 * The download benchmark (issue 5): a swarm of seeders on loopback, one file, downloaded by
 * bt-stream to stdout and by the other clients available, next to the machine's limits.
 * Every client runs BENCH_RUNS times, interleaved (round r starts with client r, so none always
 * runs first or after the same one); the table gives medians, and every run's bytes are checked.
 *
 * env: BENCH_SIZE_MIB (1024), BENCH_PIECE_KIB (256), BENCH_SEEDERS (4), BENCH_RUN_TIMEOUT_S (120),
 * BENCH_DIR (/tmp/bt-stream-bench), BENCH_CPU_PROF=dir (one more bt-stream run under
 * --cpu-prof), BENCH_LIMITS=0 (skip the limits), BENCH_SEEDER=webtorrent (force the fallback),
 * BENCH_BT_ARGS="--window 64M" (more bt-stream options, space-separated), BENCH_RUNS (3).
 */

/** Runs per client: a median needs at least 3 to shrug off one outlier. */
const DEFAULT_RUNS = 3

export async function printSwarmBench (out: NodeJS.WritableStream): Promise<void> {
  const sizeMiB = envInt('BENCH_SIZE_MIB', 1024)
  const pieceKiB = envInt('BENCH_PIECE_KIB', 256)
  const count = envInt('BENCH_SEEDERS', 4)
  const timeoutMs = envInt('BENCH_RUN_TIMEOUT_S', 120) * 1000
  const rounds = envInt('BENCH_RUNS', DEFAULT_RUNS)
  const log = (s: string): void => { out.write(`  ${s}\n`) }
  const children = new Children()
  const scratch = createScratch()
  const onSignal = (): void => { void children.killAll().finally(() => { removeScratch(scratch); process.exit(130) }) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let seeders: Seeders | undefined
  let tracker: Server | undefined
  const results = new Map<string, ClientRuns>()
  const resultOf = (client: string): ClientRuns => {
    let r = results.get(client)
    if (r === undefined) results.set(client, r = { client, runs: [], errors: [] })
    return r
  }
  let profile: string | undefined
  try {
    out.write(`swarm download: ${count} seeders on 127.0.0.1, ${sizeMiB} MiB file, ${pieceKiB} KiB pieces, ${rounds} runs per client\n`)
    if (rounds < DEFAULT_RUNS) log(`BENCH_RUNS=${rounds}: fewer than ${DEFAULT_RUNS} runs, so a "median" is one sample or a mean of two`)
    let limits: Limits | undefined
    if (process.env.BENCH_LIMITS !== '0') {
      log('measuring machine limits (SHA-1, loopback TCP, pipe)')
      limits = await measureLimits(children)
    }
    log(`scratch directory: ${scratch}`)
    const data = await ensureBenchData(sizeMiB, log)
    const torrent = torrentPath(data, pieceKiB)
    const aria2 = spawnSync('aria2c', ['--version'], { stdio: 'ignore' }).status === 0
    let announce: string | undefined
    if (aria2) {
      tracker = new Server({ udp: false, ws: false, stats: false, http: true })
      await new Promise<void>(resolve => tracker?.listen(0, '127.0.0.1', () => resolve()))
      announce = `http://127.0.0.1:${(tracker.http?.address() as { port: number }).port}/announce`
    } else {
      log('aria2c not found: skipped (apt-get install -y aria2)')
    }
    const seederOpts = { count, pieceKiB, tracker: announce }
    if (process.env.BENCH_SEEDER !== 'webtorrent' && hasLibtorrent()) {
      log('starting libtorrent seeders (makes the torrent if missing)')
      seeders = await startLibtorrentSeeders(children, data, torrent, seederOpts)
    } else {
      if (process.env.BENCH_SEEDER !== 'webtorrent') log('python3-libtorrent not found for /usr/bin/python3 (apt-get install -y python3-libtorrent): webtorrent seeders instead')
      seeders = await startWebtorrentSeeders(data, torrent, seederOpts)
    }
    const target: Target = { data, torrent: seeders.torrent, ports: seeders.ports, timeoutMs, scratch }
    const attempt = async (client: string, label: string, run: () => Promise<Run>): Promise<void> => {
      const result = resultOf(client)
      try {
        const cpu0 = seeders?.cpuSeconds() ?? 0
        const sent0 = await seeders?.uploaded() ?? 0
        const r = await run()
        // The sampler reads /proc every 50 ms: wait one period so the seeders' count is current.
        await new Promise(resolve => setTimeout(resolve, 100))
        const sent = (await seeders?.uploaded() ?? 0) - sent0
        result.runs.push({ ...r, seederCpuSeconds: (seeders?.cpuSeconds() ?? 0) - cpu0, sentRatio: sent / data.size })
        log(`${label} ${client}: ${r.mibps.toFixed(0)} MiB/s, bytes checked`)
      } catch (err) {
        result.errors.push((err as Error).message)
        log(`${label} ${client} failed: ${(err as Error).message}`)
      }
    }
    const btArgs = { extraArgs: (process.env.BENCH_BT_ARGS ?? '').split(' ').filter(a => a !== '') }
    if (btArgs.extraArgs.length > 0) log(`bt-stream runs with ${btArgs.extraArgs.join(' ')}`)
    const clients: Array<{ client: string, run: () => Promise<Run> }> = [
      { client: 'bt-stream | node sha1', run: () => runBtStream(children, target, 'hash', btArgs) },
      { client: 'bt-stream | node count', run: () => runBtStream(children, target, 'count', btArgs) },
      { client: 'bt-stream | cat > file', run: () => runBtStream(children, target, 'cat', btArgs) }
    ]
    if (seeders.kind === 'libtorrent') clients.push({ client: 'libtorrent 2.0 (python)', run: () => runLibtorrent(children, target) })
    if (announce !== undefined) {
      const url = announce
      clients.push({ client: 'aria2c', run: () => runAria2(children, target, url) })
    }
    for (const c of clients) resultOf(c.client) // the table's rows in this order
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < clients.length; k++) {
        const c = clients[(round + k) % clients.length]!
        await attempt(c.client, `run ${round + 1}/${rounds}:`, c.run)
      }
    }
    const profDir = process.env.BENCH_CPU_PROF
    if (profDir !== undefined && profDir !== '') {
      mkdirSync(profDir, { recursive: true })
      await attempt('bt-stream --cpu-prof | node count', 'one more run:', async () => ({ ...await runBtStream(children, target, 'count', { ...btArgs, cpuProfDir: profDir }), note: `profile in ${profDir}` }))
      const file = newestProfile(profDir)
      if (file !== undefined) profile = `bt-stream ${file}\n` + topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof topSelfTime>[0], 25)
    }
    out.write('\n' + formatReport(`seeders: ${seeders.kind} ×${count}; medians of ${rounds} interleaved runs per client`, [...results.values()], limits))
    if (profile !== undefined) out.write(profile)
  } finally {
    await seeders?.close().catch(() => {})
    if (tracker !== undefined) await new Promise<void>(resolve => tracker?.close(() => resolve()))
    await children.killAll()
    removeScratch(scratch)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

function envInt (name: string, fallback: number): number {
  const v = process.env[name]
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${v}: a positive integer, please`)
  return n
}
