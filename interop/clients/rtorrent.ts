/**
 * rtorrent (Debian rtorrent 0.9.8, libtorrent 0.13.8) as an interop seeder or leecher.
 *
 * It runs headless with `system.daemon.set = true` (otherwise it wants a terminal), from a config
 * file the driver writes (`-n -o import=FILE`: rtorrent splits `-o` at commas, which our event
 * commands contain). Its settings for loopback:
 * - bound to 127.0.0.2 (`host`): rtorrent takes a peer on its own IP for itself;
 * - no DHT, no PEX, no UDP trackers; `protocol.encryption.set = allow_incoming`: plaintext out,
 *   MSE accepted in (or what `encryption` says: 'require,require_RC4' for MSE only);
 * - the torrent is a copy that names a dead tracker (rtorrent does not load a torrent without
 *   `announce`, see announce-copy.ts); a leecher is given its peers by `add_peer` when the download
 *   is inserted.
 * Readiness and completion come from rtorrent itself: event hooks touch a file when the hash check
 * is done (`event.download.hash_done`) and when the download finishes (`event.download.finished`).
 * `INTEROP_PEER_LOG=1` raises its log to debug (connection and protocol events).
 */
import { spawnSync } from 'node:child_process'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { start, type Child } from '../proc.js'
import { writeAnnouncedCopy } from './announce-copy.js'
import type { InteropClient, LeechOptions, RunningClient, RunningLeecher, SeedOptions } from './types.js'

const BIN = 'rtorrent'
/** Discard port: nothing listens there, so every announce is refused at once and costs nothing. */
const DEAD_TRACKER = 'http://127.0.0.1:9/announce'
/** How often the event files are looked for: completion is seen within this, cheaply. */
const POLL_MS = 200
/** Hashing 8 MiB and listening takes well under this on a loaded machine. */
const READY_MS = 30_000
/** The part of rtorrent's log a failure message shows. */
const LOG_TAIL_CHARS = 16 * 1024

export interface RtorrentOptions {
  /**
   * `protocol.encryption.set`: 'allow_incoming' (default: plaintext out, MSE accepted in), or
   * e.g. 'require,require_RC4' (MSE with RC4 both ways, nothing else).
   */
  readonly encryption?: string
}

export class RtorrentClient implements InteropClient {
  readonly name = 'rtorrent'
  /** rtorrent takes a peer on its own IP for itself: it gets its own loopback address. */
  readonly host = '127.0.0.2'

  constructor (private readonly opts: RtorrentOptions = {}) {}

  async version (): Promise<string> {
    const r = spawnSync(BIN, ['-h'], { encoding: 'utf8' })
    const m = /version (\S+?)\.?$/m.exec(r.stdout ?? '')
    return m?.[1] ?? 'unknown'
  }

  async unavailable (): Promise<string | undefined> {
    const r = spawnSync(BIN, ['-h'], { encoding: 'utf8' })
    return r.error !== undefined ? 'rtorrent not installed: apt-get install rtorrent' : undefined
  }

  async seed (opts: SeedOptions): Promise<RunningClient> {
    const session = await RtorrentSession.start(opts.torrentPath, opts.dataDir, opts.host, opts.port, [], this.encryption)
    try {
      await session.waitFile('READY', READY_MS, 'rtorrent hash check')
    } catch (err) {
      await session.stop()
      throw err
    }
    return session
  }

  async leech (opts: LeechOptions, timeoutMs: number): Promise<RunningLeecher> {
    const session = await RtorrentSession.start(opts.torrentPath, opts.saveDir, opts.host, opts.port, opts.peers, this.encryption)
    const done = session.waitFile('DONE', timeoutMs, 'rtorrent download')
    done.catch(() => {})
    return Object.assign(session, { done })
  }

  private get encryption (): string { return this.opts.encryption ?? 'allow_incoming' }
}

class RtorrentSession implements RunningClient {
  private stopping: Promise<void> | undefined

  private constructor (readonly host: string, readonly port: number, private readonly state: string, private readonly child: Child) {}

  static async start (torrentPath: string, directory: string, host: string, port: number, peers: LeechOptions['peers'], encryption: string): Promise<RtorrentSession> {
    const state = await mkdtemp(join(tmpdir(), 'bt-stream-rtorrent-'))
    try {
      await mkdir(join(state, 'session'))
      const torrent = join(state, 'announced.torrent')
      await writeAnnouncedCopy(torrentPath, DEAD_TRACKER, torrent)
      await writeFile(join(state, 'rtorrent.rc'), config(state, torrent, directory, host, port, peers, encryption))
    } catch (err) {
      await rm(state, { recursive: true, force: true })
      throw err
    }
    const child = start(BIN, ['-n', '-o', `import=${join(state, 'rtorrent.rc')}`], { cwd: state })
    return new RtorrentSession(host, port, state, child)
  }

  log (): string {
    return `${readFileTail(join(this.state, 'rtorrent.log'))}${this.child.log.toString()}`
  }

  /** Resolves when rtorrent's event hook created `name` in the state dir; rejects on exit or after `ms`. */
  waitFile (name: string, ms: number, what: string): Promise<void> {
    const path = join(this.state, name)
    return new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + ms
      let exited = false
      this.child.exited.then(() => { exited = true }, () => {})
      const tick = (): void => {
        access(path).then(() => resolve(), async () => {
          if (exited) {
            const { code, signal } = await this.child.exited
            reject(new Error(`${what}: rtorrent exited (${signal ?? `code ${code}`}) first\n${this.log()}`))
          } else if (Date.now() > deadline) {
            reject(new Error(`${what}: not done after ${ms / 1000} s\n${this.log()}`))
          } else {
            setTimeout(tick, POLL_MS)
          }
        })
      }
      tick()
    })
  }

  stop (): Promise<void> {
    this.stopping ??= (async () => {
      await this.child.stop()
      await rm(this.state, { recursive: true, force: true })
    })()
    return this.stopping
  }
}

function config (state: string, torrent: string, directory: string, host: string, port: number, peers: LeechOptions['peers'], encryption: string): string {
  const debug = process.env.INTEROP_PEER_LOG === '1'
  return [
    `directory.default.set = "${directory}"`,
    `session.path.set = "${join(state, 'session')}"`,
    `network.port_range.set = ${port}-${port}`,
    'network.port_random.set = no',
    `network.bind_address.set = ${host}`,
    `network.local_address.set = ${host}`,
    'dht.mode.set = disable',
    'protocol.pex.set = no',
    'trackers.use_udp.set = no',
    `protocol.encryption.set = ${encryption}`,
    // No rate limits, and enough slots that our one connection is never queued behind others.
    'throttle.global_down.max_rate.set = 0',
    'throttle.global_up.max_rate.set = 0',
    'throttle.max_uploads.set = 50',
    'system.daemon.set = true',
    `log.open_file = "main", "${join(state, 'rtorrent.log')}"`,
    `log.add_output = "${debug ? 'debug' : 'info'}", "main"`,
    ...peers.map((p, i) => `method.set_key = event.download.inserted_new, add_peer_${i}, "add_peer=${p.host}:${p.port}"`),
    `method.set_key = event.download.hash_done, interop_ready, "execute.nothrow=touch,${join(state, 'READY')}"`,
    `method.set_key = event.download.finished, interop_done, "execute.nothrow=touch,${join(state, 'DONE')}"`,
    `load.start = "${torrent}"`,
    ''
  ].join('\n')
}

/** The last LOG_TAIL_CHARS bytes of a file ('' when it does not exist): a bounded read. */
function readFileTail (path: string): string {
  let fd: number
  try { fd = openSync(path, 'r') } catch { return '' }
  try {
    const size = fstatSync(fd).size
    const n = Math.min(size, LOG_TAIL_CHARS)
    const buf = Buffer.alloc(n)
    readSync(fd, buf, 0, n, size - n)
    return buf.toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/** The driver `clients/index.ts` lists. */
export const rtorrent = new RtorrentClient()
