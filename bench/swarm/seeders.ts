import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebTorrent from 'webtorrent'
import { type Children, watchLines } from './children.js'
import type { BenchData } from './data-cache.js'

/** The swarm a download is measured against: seeders on 127.0.0.1 and the torrent they seed. */
export interface Seeders {
  readonly kind: 'libtorrent' | 'webtorrent'
  readonly ports: number[]
  readonly torrent: string
  /** CPU seconds the seeders have used so far (webtorrent: this whole process's). */
  cpuSeconds (): number
  /** Payload bytes all seeders have uploaded so far. */
  uploaded (): Promise<number>
  close (): Promise<void>
}

/** Debian's python3-libtorrent lives in the system python, not in a pyenv one on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3'
const SEEDERS_PY = fileURLToPath(new URL('../../../bench/libtorrent-seeders.py', import.meta.url))
// Making the torrent hashes the whole file (~1 GiB) once; later runs find it made.
const START_MS = 180_000

export function hasLibtorrent (): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0
}

export async function startLibtorrentSeeders (children: Children, data: BenchData, torrent: string, opts: { count: number, pieceKiB: number, tracker?: string }): Promise<Seeders> {
  const args = [SEEDERS_PY, data.path, torrent, '--seeders', String(opts.count), '--piece-kib', String(opts.pieceKiB)]
  if (opts.tracker !== undefined) args.push('--tracker', opts.tracker)
  // stdin is a pipe we hold open: the script exits when it closes, even if we die.
  const child = children.start(SYSTEM_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines = watchLines(child)
  const line = await lines.when(l => l.includes('"ports"'), START_MS)
  const { ports } = JSON.parse(line.text) as { ports: number[] }
  let seq = 0
  return {
    kind: 'libtorrent',
    ports,
    torrent,
    cpuSeconds: () => child.usage().cpuSeconds,
    uploaded: async () => {
      const tag = `{"seq": ${++seq},`
      child.proc.stdin?.write(`stats ${seq}\n`)
      const answer = await lines.when(l => l.startsWith(tag), 10_000)
      return (JSON.parse(answer.text) as { uploaded: number }).uploaded
    },
    close: async () => { child.proc.stdin?.end(); await child.stop() }
  }
}

/**
 * The fallback without python3-libtorrent: webtorrent@3 seeders in this process (so their CPU is
 * not counted against the downloader). The first one makes the torrent if it is missing (hashing
 * the file once); the others take the file as it is, without re-verifying it.
 */
export async function startWebtorrentSeeders (data: BenchData, torrent: string, opts: { count: number, pieceKiB: number, tracker?: string }): Promise<Seeders> {
  const clients: WebTorrent[] = []
  const close = async (): Promise<void> => { await Promise.all(clients.map(c => new Promise<void>(resolve => c.destroy(() => resolve())))) }
  const announce = opts.tracker === undefined ? [] : [opts.tracker]
  const newClient = (): WebTorrent => {
    const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, tracker: opts.tracker !== undefined })
    client.on('error', () => {})
    clients.push(client)
    return client
  }
  try {
    if (!existsSync(torrent)) {
      const made = await new Promise<Uint8Array>(resolve => {
        newClient().seed(data.path, { pieceLength: opts.pieceKiB * 1024, announce, createdBy: 'bt-stream bench' }, t => resolve(t.torrentFile))
      })
      writeFileSync(torrent, made)
    }
    const buf = readFileSync(torrent)
    // webtorrent's own option (not in the test typings): trust the file instead of hashing it.
    const addOpts = { path: dirname(data.path), announce, skipVerify: true }
    while (clients.length < opts.count) {
      const client = newClient()
      await new Promise<void>(resolve => { client.add(buf, addOpts, t => { if (t.done) resolve(); else t.once('done', () => resolve()) }) })
    }
    await Promise.all(clients.map(c => new Promise<void>(resolve => { if (c.torrentPort !== 0) resolve(); else c.once('listening', () => resolve()) })))
  } catch (err) {
    await close()
    throw err
  }
  const cpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }
  const uploaded = async (): Promise<number> => clients.reduce((n, c) => n + c.torrents.reduce((m, t) => m + ((t as { uploaded?: number }).uploaded ?? 0), 0), 0)
  return { kind: 'webtorrent', ports: clients.map(c => c.torrentPort), torrent, cpuSeconds, uploaded, close }
}
