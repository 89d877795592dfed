/**
 * ctorrent (Debian ctorrent, "Enhanced CTorrent dnh3.3.2") as an interop seeder or leecher.
 *
 * ctorrent has no "add peer" option: it learns peers from its tracker only. Each run gets its own
 * StaticTracker on 127.0.0.1 that lists exactly the `peers` given (none for a seed), named in a
 * copy of the torrent (ctorrent refuses a torrent without `announce`, see announce-copy.ts).
 * Settings for loopback: it listens on `host` (127.0.0.2: ctorrent takes a peer on its own IP for
 * itself), `-s` names the file (single-file) or the top directory (multi-file), the bitfield file
 * lives in the run's state dir. A seed is ready at "Checking completed."; a leecher (`-e 0`: stop
 * seeding at once) is done at "Download complete.", both on its stdout.
 * ctorrent redraws a status line with \r many times a second: the log keeps the other lines and
 * only the last status line. `INTEROP_PEER_LOG=1` adds `-v` (every message in and out).
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { start, TailLog, type Child } from '../proc.js'
import { StaticTracker } from '../static-tracker.js'
import { writeAnnouncedCopy } from './announce-copy.js'
import type { InteropClient, LeechOptions, RunningClient, RunningLeecher, SeedOptions } from './types.js'

const BIN = 'ctorrent'
/** Hashing 8 MiB and listening takes well under this on a loaded machine. */
const READY_MS = 30_000
/** ctorrent's status line: a spinner character, then counters ("- 0/0/1 [32/32/32] ..."). */
const STATUS_LINE = /^[-\\|/] \d+\/\d+\/\d+ \[/
/** A line of more than this is not one ctorrent meant (binary or runaway output): cut. */
const MAX_LINE = 4096

export class CtorrentClient implements InteropClient {
  readonly name = 'ctorrent'
  /** ctorrent takes a peer on its own IP for itself: it gets its own loopback address. */
  readonly host = '127.0.0.2'

  async version (): Promise<string> {
    const r = spawnSync(BIN, ['-h'], { encoding: 'utf8' })
    const m = /CTorrent (\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)
    return m?.[1] ?? 'unknown'
  }

  async unavailable (): Promise<string | undefined> {
    const r = spawnSync(BIN, ['-h'], { encoding: 'utf8' })
    return r.error !== undefined ? 'ctorrent not installed: apt-get install ctorrent' : undefined
  }

  async seed (opts: SeedOptions): Promise<RunningClient> {
    const run = await CtorrentRun.start(opts, join(opts.dataDir, opts.name), [], ['-e', '1'])
    try {
      await run.waitLine('Checking completed.', READY_MS, 'ctorrent hash check')
    } catch (err) {
      await run.stop()
      throw err
    }
    return run
  }

  async leech (opts: LeechOptions, timeoutMs: number): Promise<RunningLeecher> {
    const run = await CtorrentRun.start(opts, join(opts.saveDir, opts.name), opts.peers, ['-e', '0'])
    const done = run.waitLine('Download complete.', timeoutMs, 'ctorrent download')
    done.catch(() => {})
    return Object.assign(run, { done })
  }
}

class CtorrentRun implements RunningClient {
  private readonly lines = new TailLog()
  private status = ''
  private readonly listeners: Array<(line: string) => void> = []
  private stopping: Promise<void> | undefined

  private constructor (readonly host: string, readonly port: number, private readonly state: string, private readonly tracker: StaticTracker, private readonly child: Child) {
    let partial = ''
    child.proc.stdout?.setEncoding('utf8')
    child.proc.stdout?.on('data', (chunk: string) => {
      partial += chunk
      const parts = partial.split(/[\r\n]/)
      partial = parts.pop() ?? ''
      if (partial.length > MAX_LINE) partial = ''
      for (const line of parts) this.onLine(line)
    })
  }

  static async start (opts: { torrentPath: string, host: string, port: number }, savePath: string, peers: LeechOptions['peers'], extra: string[]): Promise<CtorrentRun> {
    const state = await mkdtemp(join(tmpdir(), 'bt-stream-ctorrent-'))
    const tracker = new StaticTracker()
    let child: Child | undefined
    try {
      await tracker.listen()
      const torrent = join(state, 'announced.torrent')
      const meta = await writeAnnouncedCopy(opts.torrentPath, tracker.url, torrent)
      tracker.setPeers(meta.infoHashHex, peers)
      const verbose = process.env.INTEROP_PEER_LOG === '1' ? ['-v'] : []
      child = start(BIN, [
        '-s', savePath, '-p', String(opts.port), '-i', opts.host,
        '-b', join(state, 'bitfield'), ...extra, ...verbose, torrent
      ], { cwd: state, stdoutIsData: true })
      return new CtorrentRun(opts.host, opts.port, state, tracker, child)
    } catch (err) {
      await child?.stop()
      await tracker.close()
      await rm(state, { recursive: true, force: true })
      throw err
    }
  }

  log (): string {
    return `${this.lines.toString()}${this.status === '' ? '' : `last status: ${this.status}\n`}${this.child.log.toString()}`
  }

  /** Resolves when ctorrent prints `text` as a line; rejects on its exit or after `ms`. */
  waitLine (text: string, ms: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false
      const finish = (err?: Error): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err === undefined) resolve()
        else reject(err)
      }
      const timer = setTimeout(() => finish(new Error(`${what}: "${text}" not seen after ${ms / 1000} s\n${this.log()}`)), ms)
      this.listeners.push(line => { if (line.trim() === text) finish() })
      this.child.exited.then(({ code, signal }) => finish(new Error(`${what}: ctorrent exited (${signal ?? `code ${code}`}) first\n${this.log()}`)), () => {})
    })
  }

  stop (): Promise<void> {
    this.stopping ??= (async () => {
      await this.child.stop()
      await this.tracker.close()
      await rm(this.state, { recursive: true, force: true })
    })()
    return this.stopping
  }

  private onLine (line: string): void {
    if (STATUS_LINE.test(line)) {
      this.status = line.trim()
      return
    }
    if (line.trim() === '') return
    this.lines.append(line + '\n')
    for (const fn of this.listeners) fn(line)
  }
}

/** The driver `clients/index.ts` lists. */
export const ctorrent = new CtorrentClient()
