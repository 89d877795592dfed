/**
 * uTP (BEP 29) benchmark: `node dist/bench/utp.js` (after `npx tsc -p .`).
 *
 * 1. Transport: BENCH_UTP_MIB (256) MiB through one connection on loopback, uTP (libutp via
 *    lib/utp) and TCP, both ends in this process: MiB/s and CPU s per GiB (both ends' CPU).
 * 2. Swarm: a libtorrent 2.0 seeder with TCP off (bench/libtorrent-utp.py) seeding a
 *    BENCH_UTP_SWARM_MIB (128) MiB file; the libtorrent leecher (uTP only) and a bt-stream Swarm
 *    dialing through lib/utp each download it: MiB/s, and the ratio.
 * 3. Mixed swarm: one uTP-only and one TCP-only libtorrent seeder; the Swarm dials with the
 *    default policy (dialEither 'prefer'): bytes per transport.
 * Numbers are printed, never asserted. Needs utp-native and python3-libtorrent (parts skip).
 * Run alone with `node dist/bench/utp.js`, or in `npm run bench` (BENCH_ONLY=utp).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, connect as netConnect, Socket } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Readable } from 'streamx'
import { ourExtensions } from '../lib/extensions/extension-ids.js'
import { parseTorrent } from '../lib/metainfo/parse.js'
import type { Metainfo } from '../lib/metainfo/types.js'
import { MergingWritable } from '../lib/output/merging-writable.js'
import { Swarm } from '../lib/swarm/swarm.js'
import type { SwarmOptions } from '../lib/swarm/types.js'
import { wirePeer } from '../lib/swarm/wire-peer.js'
import type { Transport, UtpMode } from '../lib/utp/dial-policy.js'
import { loadUtpNative, UtpUnavailableError } from '../lib/utp/native.js'
import { UtpTransport } from '../lib/utp/transport.js'
import { connect } from '../lib/wire/connect.js'
import { PeerConnection } from '../lib/wire/peer-connection.js'
import { generatePeerId } from '../lib/wire/peer-id.js'

const MIB = 1024 * 1024
const TRANSPORT_MIB = Number(process.env.BENCH_UTP_MIB ?? 256)
const SWARM_MIB = Number(process.env.BENCH_UTP_SWARM_MIB ?? 128)
const DIR = process.env.BENCH_DIR ?? '/tmp/bt-stream-bench'
const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('../../bench/libtorrent-utp.py', import.meta.url))

function cpuSeconds (since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1e6
}

async function pumpThrough (out: Duplex, inbound: Duplex, bytes: number): Promise<{ mibs: number, cpuPerGiB: number }> {
  const chunk = Buffer.alloc(16384 + 13, 1)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let got = 0
  const done = new Promise<void>((resolve) => inbound.on('data', (d: Buffer) => { got += d.length; if (got >= bytes) resolve() }))
  for (let sent = 0; sent < bytes; sent += chunk.length) if (!out.write(chunk)) await new Promise(resolve => out.once('drain', resolve))
  await done
  const s = (performance.now() - t0) / 1000
  return { mibs: bytes / MIB / s, cpuPerGiB: cpuSeconds(cpu0) / (bytes / 1024 / MIB) }
}

async function transportBench (): Promise<void> {
  const bytes = TRANSPORT_MIB * MIB
  const a = await UtpTransport.open({ host: '127.0.0.1', accept: false })
  const b = await UtpTransport.open({ host: '127.0.0.1' })
  const accepted = new Promise<Duplex>((resolve) => b.once('connection', resolve))
  const out = await a.dial('127.0.0.1', b.port)
  out.write(Buffer.alloc(1))
  const inbound = await accepted
  inbound.once('data', () => {})
  const utp = await pumpThrough(out, inbound, bytes)
  out.destroy(); inbound.destroy()
  await a.close(); await b.close()

  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const acc = new Promise<Socket>((resolve) => server.once('connection', resolve))
  const c = netConnect({ host: '127.0.0.1', port: (server.address() as { port: number }).port })
  await new Promise(resolve => c.once('connect', resolve))
  const tcp = await pumpThrough(c, await acc, bytes)
  c.destroy(); server.close()
  log(`transport, ${TRANSPORT_MIB} MiB through one connection on loopback (both ends in one process):`)
  log(`  uTP (libutp via utp-native): ${utp.mibs.toFixed(1)} MiB/s, ${utp.cpuPerGiB.toFixed(2)} CPU s/GiB`)
  log(`  TCP:                         ${tcp.mibs.toFixed(1)} MiB/s, ${tcp.cpuPerGiB.toFixed(2)} CPU s/GiB`)
}

interface Py { child: ChildProcess, line: (re: RegExp) => Promise<string>, stop: () => void }
function py (args: string[]): Py {
  const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  const waiters: Array<() => void> = []
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); for (const w of waiters) w() })
  return {
    child,
    line: (re) => new Promise((resolve, reject) => {
      const check = (): void => {
        const l = out.split('\n').find(x => re.test(x))
        if (l !== undefined) resolve(l)
        else if (child.exitCode !== null) reject(new Error(`libtorrent-utp.py exited ${child.exitCode}`))
      }
      waiters.push(check)
      child.once('exit', check)
      check()
    }),
    stop: () => { if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL') }
  }
}

/** The swarm's dial through the real connect(): TCP and uTP by `mode`, as the CLI does. */
function dialer (meta: Metainfo, mode: UtpMode, utp: UtpTransport, used: Map<Transport, PeerConnection[]>): SwarmOptions['connect'] {
  return async (addr, signal) => {
    const t0 = performance.now()
    const conn = await connect({ host: addr.host, port: addr.port, infoHash: meta.infoHash, pieceCount: meta.pieceCount, extensions: ourExtensions({ metadataSize: meta.infoBytes.length, private: meta.private }), signal, utp, utpMode: mode })
      .catch((err: Error) => {
        if (process.env.BENCH_UTP_DEBUG !== undefined) console.error(`dial ${addr.port} failed: ${err.message}`)
        throw err
      })
    const transport: Transport = conn.socket instanceof Socket ? 'tcp' : 'utp'
    used.get(transport)?.push(conn)
    if (process.env.BENCH_UTP_DEBUG !== undefined) console.error(`dialed ${addr.port} over ${transport} in ${(performance.now() - t0).toFixed(0)} ms`)
    return wirePeer(conn)
  }
}

async function swarmDownload (meta: Metainfo, ports: number[], connect: SwarmOptions['connect']): Promise<{ s: number, cpu: number }> {
  const windowPieces = Math.ceil(16 * MIB / meta.pieceLength)
  const merger = new MergingWritable({ pieceLength: meta.pieceLength, start: 0, end: meta.length, maxHeldBytes: windowPieces * meta.pieceLength })
  const swarm = new Swarm({ meta, peerId: generatePeerId(), sink: merger, windowPieces, connect, stallTimeoutMs: 60_000 })
  merger.on('advance', n => swarm.sinkAdvanced(n))
  merger.on('drain', () => swarm.sinkDrained())
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  swarm.start()
  for (const port of ports) swarm.addPeer({ host: '127.0.0.1', port }, 'manual')
  let got = 0
  const out: Readable = merger.output
  await new Promise<void>((resolve, reject) => {
    swarm.on('error', reject)
    out.on('data', (d: unknown) => { got += (d as Uint8Array).length })
    out.on('end', () => resolve())
  })
  const s = (performance.now() - t0) / 1000
  swarm.stop()
  if (got !== meta.length) throw new Error(`got ${got} of ${meta.length}`)
  return { s, cpu: cpuSeconds(cpu0) }
}

async function swarmBench (): Promise<void> {
  await mkdir(DIR, { recursive: true })
  const data = join(DIR, `utp-${SWARM_MIB}MiB.bin`)
  const torrent = join(DIR, `utp-${SWARM_MIB}MiB.torrent`)
  if (!existsSync(data)) await writeFile(data, randomBytes(SWARM_MIB * MIB))
  const utpSeed = py(['seed', data, torrent, '--transport', 'utp'])
  const children = [utpSeed]
  try {
    const { port: utpPort } = JSON.parse(await utpSeed.line(/^\{/)) as { port: number }
    const meta = parseTorrent(await readFile(torrent))
    const save = join('/dev/shm', `bt-stream-utp-bench-${process.pid}`)
    await rm(save, { recursive: true, force: true })
    const t0 = performance.now()
    const leech = py(['leech', torrent, save, `127.0.0.1:${utpPort}`, '--transport', 'utp'])
    children.push(leech)
    await leech.line(/^done$/)
    const ltS = (performance.now() - t0) / 1000
    await rm(save, { recursive: true, force: true })

    const utp = await UtpTransport.open({ host: '127.0.0.1', accept: false })
    const used = new Map<Transport, PeerConnection[]>([['tcp', []], ['utp', []]])
    const ours = await swarmDownload(meta, [utpPort], dialer(meta, 'only', utp, used))
    log(`swarm, one libtorrent 2.0 seeder with TCP off, ${SWARM_MIB} MiB file on loopback:`)
    log(`  libtorrent leecher (uTP):  ${(SWARM_MIB / ltS).toFixed(1)} MiB/s (spawn to done, ${ltS.toFixed(2)} s)`)
    log(`  bt-stream Swarm (lib/utp): ${(SWARM_MIB / ours.s).toFixed(1)} MiB/s (${ours.s.toFixed(2)} s, ${(ours.cpu / (SWARM_MIB / 1024)).toFixed(2)} CPU s/GiB), ${(ltS / ours.s).toFixed(2)}x libtorrent`)

    const tcpSeed = py(['seed', data, torrent, '--transport', 'tcp'])
    children.push(tcpSeed)
    const { port: tcpPort } = JSON.parse(await tcpSeed.line(/^\{/)) as { port: number }
    const mixedUsed = new Map<Transport, PeerConnection[]>([['tcp', []], ['utp', []]])
    const utp2 = await UtpTransport.open({ host: '127.0.0.1', accept: false })
    const mixed = await swarmDownload(meta, [utpPort, tcpPort], dialer(meta, 'prefer', utp2, mixedUsed))
    await utp2.close()
    const sum = (t: Transport): number => (mixedUsed.get(t) ?? []).reduce((n, c) => n + c.downloaded, 0)
    log(`mixed swarm (one uTP-only, one TCP-only seeder), default policy 'prefer':`)
    log(`  ${(SWARM_MIB / mixed.s).toFixed(1)} MiB/s; over TCP ${(sum('tcp') / MIB).toFixed(1)} MiB (${mixedUsed.get('tcp')?.length ?? 0} connections), over uTP ${(sum('utp') / MIB).toFixed(1)} MiB (${mixedUsed.get('utp')?.length ?? 0} connections)`)
    await utp.close()
  } finally {
    for (const c of children) c.stop()
  }
}

let log: (line: string) => void = (line) => { process.stdout.write(line + '\n') }

/** `npm run bench` (BENCH_ONLY=utp): the uTP rows, printed to `stream`. */
export async function printUtpBench (stream: NodeJS.WritableStream): Promise<void> {
  log = (line) => { stream.write(line + '\n') }
  await main()
}

async function main (): Promise<void> {
  const native = loadUtpNative()
  if (native instanceof UtpUnavailableError) { log(`uTP bench skipped: ${native.message}`); return }
  await transportBench()
  if (!existsSync(PYTHON)) { log('swarm part skipped: no /usr/bin/python3 (python3-libtorrent)'); return }
  await swarmBench()
}

// Run on its own: node dist/bench/utp.js
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(() => process.exit(0), (err: Error) => { console.error(err); process.exit(1) })
}
