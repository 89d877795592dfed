import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { unusedPort } from '../lib/cli/free-port.js'
import { type Child, Children, deadline, watchLines } from './swarm/children.js'
import { newestProfile, topSelfTime } from './swarm/cpu-profile-top.js'
import { ensureBenchData, fileSha1, torrentPath } from './swarm/data-cache.js'
import { createScratch, removeScratch } from './swarm/downloaders.js'
import { hasLibtorrent, startLibtorrentSeeders, SYSTEM_PYTHON } from './swarm/seeders.js'
import { envInt, formatRow, interleave, MiB, recordRatio, type Sample, stderrJson } from './vs-libtorrent.js'
import { median } from './swarm/table.js'

/**
 * Issue 18's seeding row: `bt-stream seed` and one libtorrent 2.0 seeder each upload the same
 * file (BENCH_SEED_MIB, 512 MiB) to the same libtorrent 2.0 leecher (bench/libtorrent-leecher.py,
 * into RAM so the leecher's disk is not measured), on 127.0.0.1, runs interleaved. Both seeders
 * are started once and keep running (bt-stream hashes the file when it starts: that is not part
 * of a run); a run is one leecher, timed from its spawn to its "done", and the seeder's CPU is
 * what its process used during the run (sampled from /proc).
 *
 * Before the runs, each seeder serves BENCH_SEED_WARMUP (1) untimed leechers: a seed runs for
 * hours, so its first upload (V8 compiling the upload path, the heap growing to its working size:
 * ~0.3 CPU s more for bt-stream) is not what a seed costs.
 *
 * env: BENCH_SEED_MIB (512), BENCH_RUNS (3), BENCH_RUN_TIMEOUT_S (120), BENCH_PIECE_KIB (256),
 * BENCH_SEED_WARMUP (1),
 * BENCH_SEED_PROF=dir (one more bt-stream run with the seeder under --cpu-prof, top functions
 * printed), BENCH_BT_STREAM (another build).
 */

const BT_STREAM = process.env.BENCH_BT_STREAM ?? fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))
const LT_LEECHER = fileURLToPath(new URL('../../bench/libtorrent-leecher.py', import.meta.url))
/** The seeder hashes the whole file before it listens: 512 MiB at ~1 GiB/s on a loaded machine. */
const SEED_START_MS = 120_000

export async function printSeedVsLibtorrent (out: NodeJS.WritableStream): Promise<void> {
  if (!hasLibtorrent()) { out.write('seed vs libtorrent: python3-libtorrent not found for /usr/bin/python3: skipped\n'); return }
  const sizeMiB = envInt('BENCH_SEED_MIB', 512)
  const pieceKiB = envInt('BENCH_PIECE_KIB', 256)
  const rounds = envInt('BENCH_RUNS', 3)
  const timeoutMs = envInt('BENCH_RUN_TIMEOUT_S', 120) * 1000
  const log = (s: string): void => { out.write(`  ${s}\n`) }
  const children = new Children()
  const scratch = createScratch()
  let ltSeeder: Awaited<ReturnType<typeof startLibtorrentSeeders>> | undefined
  try {
    out.write(`seed vs libtorrent: one seeder uploads ${sizeMiB} MiB to one libtorrent 2.0 leecher (to ${scratch}), 127.0.0.1, ${rounds} runs each, interleaved\n`)
    const data = await ensureBenchData(sizeMiB, log)
    const torrent = torrentPath(data, pieceKiB)
    ltSeeder = await startLibtorrentSeeders(children, data, torrent, { count: 1, pieceKiB })
    const ltPort = ltSeeder.ports[0] as number
    const bt = await startBtSeed(children, torrent, data.path, [])
    log(`bt-stream seed on port ${bt.port}, libtorrent seeder on port ${ltPort}`)

    // The leecher's own CPU, by who fed it: on 2 shared cores, what the leecher spends on a
    // seeder's stream (its wake-ups, the size of what each read finds) slows that seeder's runs.
    const leecherCpu = { bt: [] as number[], lt: [] as number[] }
    const leech = async (port: number, seeder: () => number, fedBy?: 'bt' | 'lt'): Promise<Sample> => {
      const dir = mkdtempSync(join(scratch, 'leech-'))
      const lt = children.start(SYSTEM_PYTHON, [LT_LEECHER, torrent, dir, `127.0.0.1:${port}`])
      try {
        const cpu0 = seeder()
        const lines = watchLines(lt)
        const done = await lines.when(l => l === 'done', timeoutMs)
        // The sampler reads /proc every 50 ms: one more period so the seeder's count is current.
        await new Promise(resolve => setTimeout(resolve, 100))
        const cpu = seeder() - cpu0
        if (fedBy !== undefined) leecherCpu[fedBy].push(lt.usage().cpuSeconds)
        await deadline(lt.exited, 10_000, 'libtorrent leecher exit')
        const sha1 = await fileSha1(join(dir, data.path.slice(data.path.lastIndexOf('/') + 1)))
        if (sha1 !== data.sha1) throw new Error(`leecher's file has SHA-1 ${sha1}, not ${data.sha1}`)
        return { mibps: data.size / MiB / ((done.at - lt.startedAt) / 1000), cpuSeconds: cpu }
      } finally {
        await lt.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const warmups = envInt('BENCH_SEED_WARMUP', 1)
    for (let i = 0; i < warmups; i++) {
      const b = await leech(bt.port, () => bt.child.usage().cpuSeconds)
      const l = await leech(ltPort, () => ltSeeder?.cpuSeconds() ?? 0)
      log(`warm-up ${i + 1}/${warmups} (not counted): bt-stream ${b.mibps.toFixed(0)} MiB/s, CPU ${b.cpuSeconds.toFixed(2)} s; libtorrent ${l.mibps.toFixed(0)} MiB/s, CPU ${l.cpuSeconds.toFixed(2)} s`)
    }
    const r = await interleave(rounds,
      async () => await leech(bt.port, () => bt.child.usage().cpuSeconds, 'bt'),
      async () => await leech(ltPort, () => ltSeeder?.cpuSeconds() ?? 0, 'lt'),
      log)
    out.write(formatRow(`seeding, ${sizeMiB} MiB to one libtorrent 2.0 leecher; medians of ${rounds} interleaved runs`, '`bt-stream seed` vs a libtorrent seeder', 'seeder', r))
    const cpuOf = (xs: number[]): string => xs.length === 0 ? '-' : `${(median(xs) as number).toFixed(2)} s (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`
    out.write(`  the libtorrent leecher's CPU (median, min-max): fed by bt-stream ${cpuOf(leecherCpu.bt)}, fed by libtorrent ${cpuOf(leecherCpu.lt)}\n`)
    recordRatio('seed.vsLibtorrent', r, `${sizeMiB} MiB to a libtorrent leecher`)

    const profDir = process.env.BENCH_SEED_PROF
    if (profDir !== undefined && profDir !== '') {
      mkdirSync(profDir, { recursive: true })
      await bt.child.stop()
      const prof = await startBtSeed(children, torrent, data.path, ['--cpu-prof', '--cpu-prof-dir', profDir])
      const s = await leech(prof.port, () => prof.child.usage().cpuSeconds)
      log(`one more run, seeder under --cpu-prof: ${s.mibps.toFixed(0)} MiB/s, CPU ${s.cpuSeconds.toFixed(2)} s`)
      await prof.child.stop() // SIGTERM: node writes the profile on its way out
      const file = newestProfile(profDir)
      if (file !== undefined) out.write(`bt-stream seed ${file} (includes the start-up hashing)\n` + topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof topSelfTime>[0], 25))
    }
  } finally {
    await ltSeeder?.close().catch(() => {})
    await children.killAll()
    removeScratch(scratch)
  }
}

/** `bt-stream seed` on a free port of 127.0.0.1, resolved once it listens (after its hashing). */
async function startBtSeed (children: Children, torrent: string, path: string, nodeArgs: string[]): Promise<{ child: Child, port: number }> {
  const port = await unusedPort()
  const child = children.start(process.execPath, [...nodeArgs, BT_STREAM, 'seed', torrent, path, '--port', String(port), '--host', '127.0.0.1', '--no-dht', '--no-trackers', '--no-utp', '--json'])
  await stderrJson(child, o => o.event === 'listening', SEED_START_MS)
  return { child, port }
}
