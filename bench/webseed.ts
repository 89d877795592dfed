/**
 * Web seed benchmark (issue 14, BEP 19): one file served by a node:http server with ranges (its
 * own process, on 127.0.0.1), fetched by `curl` to /dev/null, then by bt-stream with the server
 * as its only source (web seed), to /dev/null, through a SHA-1 consumer (checks the bytes), and to
 * disk (-o in /dev/shm); with seeders (BENCH_WEBSEED_SEEDERS=N, default 2: python3-libtorrent
 * sessions, webtorrent when it is missing) a mixed swarm: the web seed plus the seeders, next to
 * the seeders alone; the seeders plus a slow web seed (a second server capped at
 * BENCH_WEBSEED_SLOW_MIBPS), which must not hold the stream back; and sources slower than the
 * client (a web seed capped at BENCH_WEBSEED_CAP_MIBPS, our own seeders capped at
 * BENCH_SEEDER_CAP_MIBPS each), each alone and together: with loopback sources the client's CPU is
 * the limit whatever feeds it, so only capped sources show whether a mixed swarm adds them up.
 * Numbers are printed, never asserted.
 *
 *   node dist/bench/webseed.js                                the benchmark
 *   node dist/bench/webseed.js --serve FILE [MIB_PER_S]       the server (prints {"port": N});
 *                                                            MIB_PER_S caps all its responses together
 *
 * env: BENCH_SIZE_MIB (1024), BENCH_PIECE_KIB (256), BENCH_RUN_TIMEOUT_S (180), BENCH_DIR,
 * BENCH_WEBSEED_SEEDERS (2; 0 skips the mixed rows), BENCH_WEBSEED_SLOW_MIBPS (20),
 * BENCH_WEBSEED_CAP_MIBPS (64; 0 skips the capped rows), BENCH_SEEDER_CAP_MIBPS (48),
 * BENCH_REPEAT (3 rounds), BENCH_BASELINE (another build's bin/bt-stream.js: every bt-stream row
 * runs with it too, right after, in the same round), BENCH_WEBSEED_ROWS (a regular expression: only the rows it matches, and curl). Each round runs every row once, in turn (interleaved: a neighbour's
 * burst on this shared machine hits every row alike); a row shows the median MiB/s of the rounds
 * and the median of its per-round ratio to curl (or to the seeders alone, for the mixed rows).
 * MiB/s = file size / (spawn of the downloader to its exit, or to the consumer's last byte).
 * The file is read once (cat) before anything is timed, so every row reads it from the page cache.
 * HTTP requests: what the server saw in the row's last round (bytes asked for, requests, their
 * median size, most at once).
 */
import { createReadStream, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createInterface } from 'node:readline'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { createTorrent } from '../lib/metainfo/create.js'
import { parseTorrent } from '../lib/metainfo/parse.js'
import { torrentFileBytes } from '../lib/metainfo/torrent-file.js'
import { type Child, Children, deadline, watchLines } from './swarm/children.js'
import { ensureBenchData, torrentPath, type BenchData } from './swarm/data-cache.js'
import { hasLibtorrent, startLibtorrentSeeders, startWebtorrentSeeders, type Seeders } from './swarm/seeders.js'
import { seedFromDisk, type SeedSession } from '../lib/session/seed.js'
import { BitField } from '../lib/wire/bitfield.js'

const MiB = 1024 * 1024
const SELF = fileURLToPath(import.meta.url)
const BT_STREAM = process.env.BENCH_BT_STREAM ?? fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))
/** Another build's bin/bt-stream.js: each bt-stream row runs with it too, in the same round ("[baseline]"). */
const BASELINE = process.env.BENCH_BASELINE
const BASELINE_TAG = ' [baseline]'
const CONSUMER = fileURLToPath(new URL('./swarm/consumer.js', import.meta.url))
const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : '/tmp'
/** Read-ahead of the server's file streams: big reads, as a static file server does. */
const SERVE_CHUNK = 1024 * 1024
/** A capped server sends its bytes in slices this big, each in its turn (all responses share the cap). */
const SLOW_SLICE = 64 * 1024

interface Sample { mibps: number, cpuSeconds: number, peakRss: number, http?: HttpStats }
interface HttpStats { requests: number, bytes: number, medianBytes: number, maxInFlight: number, connections: number }
interface Row { client: string, versus: string, note?: string, samples: Sample[], error?: string }

/**
 * The server process: the file at `/bench.bin`, single ranges (RFC 9110), keep-alive; each
 * response at most `mibps` MiB/s when given. A line "stats" on stdin prints what it served since
 * the last one (`stats N` answers `{"seq":N,...}`); it exits when stdin closes.
 */
function serve (file: string, mibps: number | undefined): void {
  const size = statSync(file).size
  // The cap: each slice of any response is sent at its turn, one SLOW_SLICE per sliceMs in all.
  let nextAt = 0
  let stats = { requests: 0, sizes: [] as number[], inFlight: 0, maxInFlight: 0, connections: 0 }
  const server = createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    if (req.url !== '/bench.bin') { res.writeHead(404).end(); return }
    const start = m === null ? 0 : Number(m[1])
    const end = m === null || m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]))
    stats.requests++
    stats.sizes.push(end - start + 1)
    stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight)
    res.once('close', () => { stats.inFlight-- })
    res.writeHead(m === null ? 200 : 206, {
      'Content-Length': end - start + 1,
      ...(m === null ? {} : { 'Content-Range': `bytes ${start}-${end}/${size}` }),
      'Accept-Ranges': 'bytes'
    })
    const body = createReadStream(file, { start, end, highWaterMark: mibps === undefined ? SERVE_CHUNK : SLOW_SLICE })
    if (mibps === undefined) { body.pipe(res); return }
    const sliceMs = SLOW_SLICE / (mibps * MiB) * 1000
    const paced = new Transform({
      transform (chunk: Buffer, _enc, cb) {
        const now = performance.now()
        nextAt = Math.max(now, nextAt) + chunk.length / SLOW_SLICE * sliceMs
        setTimeout(() => cb(null, chunk), nextAt - now)
      }
    })
    body.pipe(paced).pipe(res)
    res.once('close', () => { body.destroy() })
  })
  server.on('connection', () => { stats.connections++ })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => { process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n') })
  const lines = createInterface({ input: process.stdin })
  lines.on('line', line => {
    const sizes = stats.sizes.sort((x, y) => x - y)
    const out: HttpStats = { requests: stats.requests, bytes: sizes.reduce((a, b) => a + b, 0), medianBytes: sizes[sizes.length >> 1] ?? 0, maxInFlight: stats.maxInFlight, connections: stats.connections }
    process.stdout.write(JSON.stringify({ seq: Number(line.split(' ')[1]), stats: out }) + '\n')
    stats = { requests: 0, sizes: [], inFlight: stats.inFlight, maxInFlight: 0, connections: 0 }
  })
  lines.on('close', () => process.exit(0))
}

interface Server { url: string, stats (): Promise<HttpStats>, stop (): Promise<void> }

async function startServer (children: Children, file: string, mibps?: number): Promise<Server> {
  const child = children.start(process.execPath, [SELF, '--serve', file, ...(mibps === undefined ? [] : [String(mibps)])], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines = watchLines(child)
  const { port } = JSON.parse((await lines.when(l => l.startsWith('{"port"'), 10_000)).text) as { port: number }
  let asked = 0
  return {
    url: `http://127.0.0.1:${port}/bench.bin`,
    stats: async () => {
      const n = ++asked
      child.proc.stdin?.write(`stats ${n}\n`)
      const line = await lines.when(l => l.startsWith(`{"seq":${n},`), 10_000)
      return (JSON.parse(line.text) as { stats: HttpStats }).stats
    },
    stop: async () => { child.proc.stdin?.end(); await child.stop() }
  }
}

export async function printWebSeedBench (out: NodeJS.WritableStream): Promise<void> {
  const sizeMiB = envInt('BENCH_SIZE_MIB', 1024)
  const pieceKiB = envInt('BENCH_PIECE_KIB', 256)
  const seederCount = envInt('BENCH_WEBSEED_SEEDERS', 2)
  const slowMibps = envInt('BENCH_WEBSEED_SLOW_MIBPS', 20)
  const capMibps = envInt('BENCH_WEBSEED_CAP_MIBPS', 64)
  const seederCapMibps = envInt('BENCH_SEEDER_CAP_MIBPS', 48)
  const timeoutMs = envInt('BENCH_RUN_TIMEOUT_S', 180) * 1000
  const rounds = Math.max(1, envInt('BENCH_REPEAT', 3))
  const log = (s: string): void => { out.write(`  ${s}\n`) }
  out.write(`web seed download: node:http server on 127.0.0.1, ${sizeMiB} MiB file, ${pieceKiB} KiB pieces, medians of ${rounds} interleaved rounds\n`)
  const children = new Children()
  const rows: Row[] = []
  const scratch = mkdtempSync(join(SCRATCH, 'bt-stream-bench-webseed-'))
  let seeders: Seeders | undefined
  const cappedSeeders: SeedSession[] = []
  try {
    const data = await ensureBenchData(sizeMiB, log)
    let base = data.path.replace(/\.bin$/, `-${pieceKiB}K-webseed.torrent`)
    if (seederCount > 0) {
      // The seeders' torrent (libtorrent makes it if missing): the web seed's is the same info dict.
      base = torrentPath(data, pieceKiB)
      if (hasLibtorrent()) {
        log(`starting ${seederCount} libtorrent seeders`)
        seeders = await startLibtorrentSeeders(children, data, base, { count: seederCount, pieceKiB })
      } else {
        log(`starting ${seederCount} webtorrent seeders (in this process; no python3-libtorrent)`)
        seeders = await startWebtorrentSeeders(data, base, { count: seederCount, pieceKiB })
      }
    } else if (!existsSync(base)) {
      log('hashing the file into a torrent (once)')
      writeFileSync(base, (await createTorrent(data.path, { pieceLength: pieceKiB * 1024, creationDate: null })).torrent)
    }
    const meta = parseTorrent(readFileSync(base))
    const server = await startServer(children, data.path)
    // The file's name in the torrent is the bench file's; the URL names it directly (BEP 19 single-file).
    const withSeed = join(scratch, 'webseed.torrent')
    writeFileSync(withSeed, torrentFileBytes(meta.infoBytes, { urlList: [server.url] }))
    const slow = seeders === undefined ? undefined : await startServer(children, data.path, slowMibps)
    const withSlowSeed = join(scratch, 'slow-webseed.torrent')
    if (slow !== undefined) writeFileSync(withSlowSeed, torrentFileBytes(meta.infoBytes, { urlList: [slow.url] }))
    const capped = seeders === undefined || capMibps === 0 ? undefined : await startServer(children, data.path, capMibps)
    const withCappedSeed = join(scratch, 'capped-webseed.torrent')
    const plainTorrent = join(scratch, 'plain.torrent')
    if (capped !== undefined) {
      writeFileSync(withCappedSeed, torrentFileBytes(meta.infoBytes, { urlList: [capped.url] }))
      writeFileSync(plainTorrent, torrentFileBytes(meta.infoBytes, {}))
      // Our own seeders, each capped by its upload limit; the file is known whole (no re-check).
      const have = new BitField(meta.pieceCount)
      for (let i = 0; i < meta.pieceCount; i++) have.set(i)
      for (let i = 0; i < seederCount; i++) cappedSeeders.push(await seedFromDisk(meta, data.path, { host: '127.0.0.1', trackers: false, have, maxUploadRate: seederCapMibps * MiB }))
    }

    const bt = (bin: string, torrent: string, extra: string[]): string[] => [bin, torrent, '--no-trackers', '--no-dht', '--quiet', ...extra]
    const disk = join(scratch, 'out.bin')
    interface Planned { client: string, versus: string, note?: string, server?: Server, bin?: string, run: (bin: string) => Promise<Sample> }
    const plan: Planned[] = []
    if (spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0) {
      plan.push({ client: 'curl > /dev/null', versus: 'curl', server, run: () => timed(children, 'curl', 'curl', ['-s', '-f', '-o', '/dev/null', server.url], data) })
    } else {
      rows.push({ client: 'curl > /dev/null', versus: 'curl', samples: [], error: 'curl not found' })
    }
    plan.push({ client: 'web seed > /dev/null', versus: 'curl', server, bin: BT_STREAM, run: bin => timed(children, 'web seed', process.execPath, bt(bin, withSeed, []), data) })
    plan.push({ client: 'web seed | node sha1', versus: 'curl', note: 'SHA-1 of stream = file', server, bin: BT_STREAM, run: bin => piped(children, 'web seed | node sha1', bt(bin, withSeed, []), data) })
    // A fresh output each time: a rerun into a finished file would only check it (resume).
    plan.push({
      client: 'web seed -o /dev/shm',
      versus: 'curl',
      server,
      bin: BT_STREAM,
      run: async bin => { rmSync(disk, { force: true }); try { return await timed(children, 'web seed -o', process.execPath, bt(bin, withSeed, ['-o', disk]), data) } finally { rmSync(disk, { force: true }) } }
    })
    if (seeders !== undefined && slow !== undefined) {
      const peers = seeders.ports.map(p => `127.0.0.1:${p}`).join(',')
      const n = seeders.ports.length
      plan.push({ client: `${n} ${seeders.kind} seeders > /dev/null`, versus: 'curl', bin: BT_STREAM, run: bin => timed(children, 'seeders', process.execPath, bt(bin, base, ['--peer', peers]), data) })
      plan.push({ client: `web seed + ${n} seeders > /dev/null`, versus: 'faster alone', server, bin: BT_STREAM, run: bin => timed(children, 'mixed', process.execPath, bt(bin, withSeed, ['--peer', peers]), data) })
      plan.push({ client: `${slowMibps} MiB/s web seed + ${n} seeders > /dev/null`, versus: 'seeders', server: slow, bin: BT_STREAM, run: bin => timed(children, 'slow mixed', process.execPath, bt(bin, withSlowSeed, ['--peer', peers]), data) })
    }
    if (capped !== undefined) {
      const peers = cappedSeeders.map(s => `127.0.0.1:${s.port}`).join(',')
      const n = cappedSeeders.length
      plan.push({ client: `web seed capped ${capMibps} MiB/s > /dev/null`, versus: 'capped sum', server: capped, bin: BT_STREAM, run: bin => timed(children, 'capped web seed', process.execPath, bt(bin, withCappedSeed, []), data) })
      plan.push({ client: `${n} seeders capped ${seederCapMibps} MiB/s > /dev/null`, versus: 'capped sum', bin: BT_STREAM, run: bin => timed(children, 'capped seeders', process.execPath, bt(bin, plainTorrent, ['--peer', peers]), data) })
      plan.push({ client: `capped web seed + ${n} capped seeders > /dev/null`, versus: 'faster capped alone', server: capped, bin: BT_STREAM, run: bin => timed(children, 'capped mixed', process.execPath, bt(bin, withCappedSeed, ['--peer', peers]), data) })
    }
    const only = process.env.BENCH_WEBSEED_ROWS
    if (only !== undefined && only !== '') {
      const keep = new RegExp(only)
      for (let i = plan.length - 1; i >= 0; i--) if (!plan[i]!.client.startsWith('curl') && !keep.test(plan[i]!.client)) plan.splice(i, 1)
    }
    if (BASELINE !== undefined && BASELINE !== '') {
      for (let i = plan.length - 1; i >= 0; i--) {
        const p = plan[i]!
        if (p.bin !== undefined) plan.splice(i + 1, 0, { ...p, client: p.client + BASELINE_TAG, bin: BASELINE })
      }
    }
    // The file into the page cache before anything is timed: no row pays for the disk.
    await timed(children, 'warm-up', 'cat', [data.path], data)
    for (const p of plan) rows.push({ client: p.client, versus: p.versus, ...(p.note === undefined ? {} : { note: p.note }), samples: [] })
    for (let round = 1; round <= rounds; round++) {
      log(`round ${round} of ${rounds}`)
      for (const [i, p] of plan.entries()) {
        const row = rows.find(r => r.client === p.client)!
        if (row.error !== undefined) continue
        try {
          await p.server?.stats()
          const sample = await deadline(p.run(p.bin ?? BT_STREAM), timeoutMs, p.client)
          if (p.server !== undefined) sample.http = await p.server.stats()
          row.samples.push(sample)
          log(`${p.client}: ${sample.mibps.toFixed(0)} MiB/s`)
        } catch (err) {
          row.error = (err as Error).message.split('\n')[0]
          log(`${plan[i]!.client} failed: ${(err as Error).message}`)
        }
      }
    }
    await capped?.stop()
    await slow?.stop()
    await server.stop()
  } finally {
    await seeders?.close()
    await Promise.all(cappedSeeders.map(s => s.close()))
    await children.killAll()
    rmSync(scratch, { recursive: true, force: true })
  }
  out.write('\n' + table(rows, capMibps, seederCapMibps, seederCount) + '\n')
}

/** A downloader whose output goes to /dev/null: timed from spawn to its exit. */
async function timed (children: Children, client: string, cmd: string, args: string[], data: BenchData): Promise<Sample> {
  const devnull = openSync('/dev/null', 'w')
  let child: Child
  try { child = children.start(cmd, args, { stdio: ['ignore', devnull, 'pipe'] }) } finally { closeSync(devnull) }
  const exit = await child.exited
  if (exit.code !== 0) throw new Error(`${client} exited ${exit.code ?? exit.signal}: ${child.stderrTail()}`)
  const u = child.usage()
  return { mibps: data.size / MiB / ((exit.at - child.startedAt) / 1000), cpuSeconds: u.cpuSeconds, peakRss: u.peakRss }
}

/** bt-stream into the SHA-1 consumer: timed to its last byte, and the hash checked. */
async function piped (children: Children, client: string, args: string[], data: BenchData): Promise<Sample> {
  const bt = children.start(process.execPath, args)
  const reader = children.start(process.execPath, [CONSUMER, '--hash'], { stdio: [bt.proc.stdout!, 'pipe', 'pipe'] })
  bt.proc.stdout?.destroy()
  const last = await watchLines(reader).when(l => l.startsWith('{'), 600_000)
  const r = JSON.parse(last.text) as { bytes: number, sha1?: string }
  if (r.sha1 !== data.sha1) throw new Error(`${client}: ${r.bytes} bytes, SHA-1 ${r.sha1 ?? '-'} is not the file's\n${bt.stderrTail()}`)
  await bt.exited
  const u = bt.usage()
  return { mibps: data.size / MiB / ((last.at - bt.startedAt) / 1000), cpuSeconds: u.cpuSeconds, peakRss: u.peakRss }
}

/**
 * Medians per row. `x ref`: the median over rounds of this row's MiB/s over its reference's in the
 * same round: curl; for the mixed row, the faster of the web seed alone and the seeders alone; for
 * the slow web seed, the seeders alone (1.00 or more: the slow seed costs nothing); for the capped
 * sources alone, the sum of the caps (what a mixed swarm of them can reach at most), and for the
 * capped mixed row, the faster capped source alone.
 */
function table (rows: Row[], capMibps: number, seederCapMibps: number, seederCount: number): string {
  const curl = rows.find(r => r.client.startsWith('curl'))
  const reference = (r: Row, i: number): number | undefined => {
    // A baseline row is compared with the baseline's own rows.
    const tag = r.client.endsWith(BASELINE_TAG)
    const find = (test: (client: string) => boolean): Row | undefined => rows.find(x => test(x.client) && x.client.endsWith(BASELINE_TAG) === tag)
    const byName = (prefix: string): Row | undefined => find(c => c.startsWith(prefix))
    const alone = byName('web seed > ')
    const seeders = find(c => / seeders > /.test(c) && !c.includes('web seed'))
    const at = (x: Row | undefined): number | undefined => x?.samples[i]?.mibps
    if (r.versus === 'curl') return at(curl)
    if (r.versus === 'seeders') return at(seeders)
    if (r.versus === 'capped sum') return capMibps + seederCapMibps * seederCount
    if (r.versus === 'faster capped alone') {
      const a = at(byName('web seed capped'))
      const b = at(find(c => / seeders capped /.test(c)))
      return a === undefined || b === undefined ? undefined : Math.max(a, b)
    }
    const a = at(alone)
    const b = at(seeders)
    return a === undefined || b === undefined ? undefined : Math.max(a, b)
  }
  const head = ['client', 'MiB/s', 'x ref', 'ref', 'CPU s', 'peak RSS', 'HTTP requests', 'note']
  const lines = rows.map(r => {
    if (r.error !== undefined || r.samples.length === 0) return [r.client, '-', '-', '-', '-', '-', '-', `failed: ${r.error ?? 'no run'}`]
    const ratios = r.samples.map((s, i) => { const ref = reference(r, i); return ref === undefined ? undefined : s.mibps / ref }).filter((x): x is number => x !== undefined)
    const http = r.samples.at(-1)!.http
    return [
      r.client,
      median(r.samples.map(s => s.mibps)).toFixed(0),
      ratios.length === 0 ? '-' : median(ratios).toFixed(2),
      r.versus,
      median(r.samples.map(s => s.cpuSeconds)).toFixed(1),
      `${Math.round(median(r.samples.map(s => s.peakRss)) / MiB)} MiB`,
      http === undefined || r.client.startsWith('curl') ? '' : `${Math.round(http.bytes / MiB)} MiB in ${http.requests} (median ${(http.medianBytes / MiB).toFixed(1)} MiB), ≤ ${http.maxInFlight} at once`,
      r.note ?? ''
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map(l => l[i]!.length)))
  return [head, ...lines].map(l => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function envInt (name: string, def: number): number {
  const v = process.env[name]
  return v === undefined || v === '' ? def : Number(v)
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === '--serve') serve(process.argv[3]!, process.argv[4] === undefined ? undefined : Number(process.argv[4]))
  else await printWebSeedBench(process.stdout)
}
