/**
 * Web seed benchmark (issue 14, BEP 19): one file served by a node:http server with ranges (its
 * own process, on 127.0.0.1), fetched by `curl` to /dev/null, then by bt-stream with the server
 * as its only source (web seed), to /dev/null, through a SHA-1 consumer (checks the bytes), and to
 * disk (-o in /dev/shm); optionally (BENCH_WEBSEED_SEEDERS=N, default 2) a mixed swarm: the web
 * seed plus N webtorrent seeders, next to those seeders alone. Numbers are printed, never asserted.
 *
 *   node dist/bench/webseed.js                    the benchmark
 *   node dist/bench/webseed.js --serve FILE       the server (prints {"port": N})
 *
 * env: BENCH_SIZE_MIB (1024), BENCH_PIECE_KIB (256), BENCH_RUN_TIMEOUT_S (180), BENCH_DIR,
 * BENCH_WEBSEED_SEEDERS (2; 0 skips the mixed rows), BENCH_REPEAT (3: each row is the best of 3).
 * MiB/s = file size / (spawn of the downloader to its exit, or to the consumer's last byte).
 * The file is read once (cat) before anything is timed, so every row reads it from the page cache.
 */
import { createReadStream, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTorrent } from '../lib/metainfo/create.js'
import { parseTorrent } from '../lib/metainfo/parse.js'
import { torrentFileBytes } from '../lib/metainfo/torrent-file.js'
import { type Child, Children, deadline, watchLines } from './swarm/children.js'
import { ensureBenchData, type BenchData } from './swarm/data-cache.js'
import { startWebtorrentSeeders, type Seeders } from './swarm/seeders.js'

const MiB = 1024 * 1024
const SELF = fileURLToPath(import.meta.url)
const BT_STREAM = process.env.BENCH_BT_STREAM ?? fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))
const CONSUMER = fileURLToPath(new URL('./swarm/consumer.js', import.meta.url))
const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : '/tmp'
/** Read-ahead of the server's file streams: big reads, as a static file server does. */
const SERVE_CHUNK = 1024 * 1024

interface Row { client: string, mibps?: number, cpuSeconds?: number, peakRss?: number, note?: string, error?: string }

/** The server process: the file at `/bench.bin`, single ranges (RFC 9110), keep-alive. */
function serve (file: string): void {
  const size = statSync(file).size
  const server = createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    if (req.url !== '/bench.bin') { res.writeHead(404).end(); return }
    const start = m === null ? 0 : Number(m[1])
    const end = m === null || m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]))
    res.writeHead(m === null ? 200 : 206, {
      'Content-Length': end - start + 1,
      ...(m === null ? {} : { 'Content-Range': `bytes ${start}-${end}/${size}` }),
      'Accept-Ranges': 'bytes'
    })
    createReadStream(file, { start, end, highWaterMark: SERVE_CHUNK }).pipe(res)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => { process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n') })
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
}

export async function printWebSeedBench (out: NodeJS.WritableStream): Promise<void> {
  const sizeMiB = envInt('BENCH_SIZE_MIB', 1024)
  const pieceKiB = envInt('BENCH_PIECE_KIB', 256)
  const seederCount = envInt('BENCH_WEBSEED_SEEDERS', 2)
  const timeoutMs = envInt('BENCH_RUN_TIMEOUT_S', 180) * 1000
  const repeat = Math.max(1, envInt('BENCH_REPEAT', 3))
  const log = (s: string): void => { out.write(`  ${s}\n`) }
  out.write(`web seed download: node:http server on 127.0.0.1, ${sizeMiB} MiB file, ${pieceKiB} KiB pieces\n`)
  const children = new Children()
  const rows: Row[] = []
  const scratch = mkdtempSync(join(SCRATCH, 'bt-stream-bench-webseed-'))
  let seeders: Seeders | undefined
  try {
    const data = await ensureBenchData(sizeMiB, log)
    const base = data.path.replace(/\.bin$/, `-${pieceKiB}K-webseed.torrent`)
    if (!existsSync(base)) {
      log('hashing the file into a torrent (once)')
      writeFileSync(base, (await createTorrent(data.path, { pieceLength: pieceKiB * 1024, creationDate: null })).torrent)
    }
    const meta = parseTorrent(readFileSync(base))
    const server = children.start(process.execPath, [SELF, '--serve', data.path], { stdio: ['pipe', 'pipe', 'pipe'] })
    const { port } = JSON.parse((await watchLines(server).when(l => l.startsWith('{'), 10_000)).text) as { port: number }
    // The file's name in the torrent is the bench file's; the URL names it directly (BEP 19 single-file).
    const url = `http://127.0.0.1:${port}/bench.bin`
    const withSeed = join(scratch, 'webseed.torrent')
    writeFileSync(withSeed, torrentFileBytes(meta.infoBytes, { urlList: [url] }))
    // Best of `repeat` runs per row: the machine is shared, and a slow run says more about the
    // neighbours than about the client.
    const attempt = async (client: string, run: () => Promise<Row>): Promise<void> => {
      log(`downloading: ${client} (best of ${repeat})`)
      let best: Row | undefined
      try {
        for (let i = 0; i < repeat; i++) {
          const r = await deadline(run(), timeoutMs, client)
          if (best === undefined || r.mibps! > best.mibps!) best = r
        }
        rows.push(best!)
      } catch (err) {
        rows.push({ client, error: (err as Error).message.split('\n')[0] })
        log(`${client} failed: ${(err as Error).message}`)
      }
    }
    // The file into the page cache before anything is timed: no row pays for the disk.
    await timed(children, 'warm-up', 'cat', [data.path], data)
    if (spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0) {
      await attempt('curl > /dev/null', () => timed(children, 'curl > /dev/null', 'curl', ['-s', '-f', '-o', '/dev/null', url], data))
    } else {
      rows.push({ client: 'curl > /dev/null', error: 'curl not found' })
    }
    const bt = (extra: string[]): string[] => [BT_STREAM, withSeed, '--no-trackers', '--no-dht', '--quiet', ...extra]
    await attempt('bt-stream (web seed) > /dev/null', () => timed(children, 'bt-stream (web seed) > /dev/null', process.execPath, bt([]), data))
    await attempt('bt-stream (web seed) | node sha1', () => piped(children, 'bt-stream (web seed) | node sha1', bt([]), data))
    const disk = join(scratch, 'out.bin')
    // A fresh output each time: a rerun into a finished file would only check it (resume).
    await attempt('bt-stream (web seed) -o /dev/shm', async () => {
      rmSync(disk, { force: true })
      return await timed(children, 'bt-stream (web seed) -o /dev/shm', process.execPath, bt(['-o', disk]), data)
    })
    rmSync(disk, { force: true })
    if (seederCount > 0) {
      log(`starting ${seederCount} webtorrent seeders (in this process)`)
      seeders = await startWebtorrentSeeders(data, base, { count: seederCount, pieceKiB })
      const peers = seeders.ports.map(p => `127.0.0.1:${p}`).join(',')
      const plain = [BT_STREAM, base, '--no-trackers', '--no-dht', '--quiet', '--peer', peers]
      await attempt(`bt-stream (${seederCount} seeders) > /dev/null`, () => timed(children, `bt-stream (${seederCount} seeders) > /dev/null`, process.execPath, plain, data))
      await attempt(`bt-stream (web seed + ${seederCount} seeders) > /dev/null`, () => timed(children, `bt-stream (web seed + ${seederCount} seeders) > /dev/null`, process.execPath, bt(['--peer', peers]), data))
    }
    server.proc.stdin?.end()
    await server.stop()
  } finally {
    await seeders?.close()
    await children.killAll()
    rmSync(scratch, { recursive: true, force: true })
  }
  const curl = rows.find(r => r.client.startsWith('curl'))?.mibps
  out.write('\n' + table(rows, curl) + '\n')
}

/** A downloader whose output goes to /dev/null: timed from spawn to its exit. */
async function timed (children: Children, client: string, cmd: string, args: string[], data: BenchData): Promise<Row> {
  const devnull = openSync('/dev/null', 'w')
  let child: Child
  try { child = children.start(cmd, args, { stdio: ['ignore', devnull, 'pipe'] }) } finally { closeSync(devnull) }
  const exit = await child.exited
  if (exit.code !== 0) throw new Error(`${client} exited ${exit.code ?? exit.signal}: ${child.stderrTail()}`)
  const u = child.usage()
  return { client, mibps: data.size / MiB / ((exit.at - child.startedAt) / 1000), cpuSeconds: u.cpuSeconds, peakRss: u.peakRss }
}

/** bt-stream into the SHA-1 consumer: timed to its last byte, and the hash checked. */
async function piped (children: Children, client: string, args: string[], data: BenchData): Promise<Row> {
  const bt = children.start(process.execPath, args)
  const reader = children.start(process.execPath, [CONSUMER, '--hash'], { stdio: [bt.proc.stdout!, 'pipe', 'pipe'] })
  bt.proc.stdout?.destroy()
  const last = await watchLines(reader).when(l => l.startsWith('{'), 600_000)
  const r = JSON.parse(last.text) as { bytes: number, sha1?: string }
  if (r.sha1 !== data.sha1) throw new Error(`${client}: ${r.bytes} bytes, SHA-1 ${r.sha1 ?? '-'} is not the file's\n${bt.stderrTail()}`)
  await bt.exited
  const u = bt.usage()
  return { client, mibps: data.size / MiB / ((last.at - bt.startedAt) / 1000), cpuSeconds: u.cpuSeconds, peakRss: u.peakRss, note: 'SHA-1 of stream = file' }
}

function table (rows: Row[], curl: number | undefined): string {
  const head = ['client', 'MiB/s', 'x curl', 'CPU s', 'peak RSS', 'note']
  const lines = rows.map(r => r.error !== undefined
    ? [r.client, '-', '-', '-', '-', `failed: ${r.error}`]
    : [r.client, r.mibps!.toFixed(0), curl === undefined ? '-' : (r.mibps! / curl).toFixed(2), r.cpuSeconds!.toFixed(1), `${Math.round(r.peakRss! / MiB)} MiB`, r.note ?? ''])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map(l => l[i]!.length)))
  return [head, ...lines].map(l => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}

function envInt (name: string, def: number): number {
  const v = process.env[name]
  return v === undefined || v === '' ? def : Number(v)
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === '--serve') serve(process.argv[3]!)
  else await printWebSeedBench(process.stdout)
}
