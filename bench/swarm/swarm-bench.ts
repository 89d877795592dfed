import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { Server } from 'bittorrent-tracker'
import { Children } from './children.js'
import { newestProfile, topSelfTime } from './cpu-profile-top.js'
import { ensureBenchData, torrentPath } from './data-cache.js'
import { cleanScratch, runAria2, runBtStream, runLibtorrent, type Run, type Target } from './downloaders.js'
import { measureLimits, type Limits } from './limits.js'
import { hasLibtorrent, startLibtorrentSeeders, startWebtorrentSeeders, type Seeders } from './seeders.js'
import { formatReport } from './table.js'

/**
 * The download benchmark (issue 5): a swarm of seeders on loopback, one file, downloaded by
 * bt-stream to stdout and by the other clients available, next to the machine's limits.
 *
 * env: BENCH_SIZE_MIB (1024), BENCH_PIECE_KIB (256), BENCH_SEEDERS (4), BENCH_RUN_TIMEOUT_S (120),
 * BENCH_DIR (/tmp/bt-stream-bench), BENCH_CPU_PROF=dir (one more bt-stream run under
 * --cpu-prof), BENCH_LIMITS=0 (skip the limits), BENCH_SEEDER=webtorrent (force the fallback),
 * BENCH_BT_ARGS="--window 64M" (more bt-stream options, space-separated).
 */
type Row = Run | { client: string, error: string }

export async function printSwarmBench (out: NodeJS.WritableStream): Promise<void> {
  const sizeMiB = envInt('BENCH_SIZE_MIB', 1024)
  const pieceKiB = envInt('BENCH_PIECE_KIB', 256)
  const count = envInt('BENCH_SEEDERS', 4)
  const timeoutMs = envInt('BENCH_RUN_TIMEOUT_S', 120) * 1000
  const log = (s: string): void => { out.write(`  ${s}\n`) }
  const children = new Children()
  const onSignal = (): void => { void children.killAll().finally(() => process.exit(130)) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let seeders: Seeders | undefined
  let tracker: Server | undefined
  const rows: Row[] = []
  let profile: string | undefined
  try {
    out.write(`swarm download: ${count} seeders on 127.0.0.1, ${sizeMiB} MiB file, ${pieceKiB} KiB pieces\n`)
    let limits: Limits | undefined
    if (process.env.BENCH_LIMITS !== '0') {
      log('measuring machine limits (SHA-1, loopback TCP, pipe)')
      limits = await measureLimits(children)
    }
    cleanScratch()
    const data = ensureBenchData(sizeMiB, log)
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
    const target: Target = { data, torrent: seeders.torrent, ports: seeders.ports, timeoutMs }
    const attempt = async (client: string, run: () => Promise<Run>): Promise<void> => {
      log(`downloading: ${client}`)
      try {
        const cpu0 = seeders?.cpuSeconds() ?? 0
        const sent0 = await seeders?.uploaded() ?? 0
        const r = await run()
        // The sampler reads /proc every 50 ms: wait one period so the seeders' count is current.
        await new Promise(resolve => setTimeout(resolve, 100))
        const sent = (await seeders?.uploaded() ?? 0) - sent0
        rows.push({ ...r, seederCpuSeconds: (seeders?.cpuSeconds() ?? 0) - cpu0, sentRatio: sent / data.size })
      } catch (err) {
        rows.push({ client, error: (err as Error).message })
        out.write(`  ${client} failed: ${(err as Error).message}\n`)
      }
    }
    const btArgs = { extraArgs: (process.env.BENCH_BT_ARGS ?? '').split(' ').filter(a => a !== '') }
    if (btArgs.extraArgs.length > 0) log(`bt-stream runs with ${btArgs.extraArgs.join(' ')}`)
    await attempt('bt-stream | node sha1', () => runBtStream(children, target, 'hash', btArgs))
    await attempt('bt-stream | node count', () => runBtStream(children, target, 'count', btArgs))
    await attempt('bt-stream | cat >/dev/null', () => runBtStream(children, target, 'cat', btArgs))
    const profDir = process.env.BENCH_CPU_PROF
    if (profDir !== undefined && profDir !== '') {
      mkdirSync(profDir, { recursive: true })
      await attempt('bt-stream --cpu-prof | node count', async () => ({ ...await runBtStream(children, target, 'count', { ...btArgs, cpuProfDir: profDir }), client: 'bt-stream --cpu-prof | count', note: `profile in ${profDir}` }))
      const file = newestProfile(profDir)
      if (file !== undefined) profile = `bt-stream ${file}\n` + topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof topSelfTime>[0], 25)
    }
    if (seeders.kind === 'libtorrent') await attempt('libtorrent 2.0 (python)', () => runLibtorrent(children, target))
    if (announce !== undefined) await attempt('aria2c', () => runAria2(children, target, announce as string))
    out.write('\n' + formatReport(`seeders: ${seeders.kind} ×${count}`, rows, limits))
    if (profile !== undefined) out.write(profile)
  } finally {
    await seeders?.close().catch(() => {})
    if (tracker !== undefined) await new Promise<void>(resolve => tracker?.close(() => resolve()))
    await children.killAll()
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
