/**
 * aria2c (Debian aria2) as a seeder or a leecher on loopback. aria2c has no "add this peer"
 * option: as a leecher it learns our seed from a StaticTracker on 127.0.0.1 (given with
 * --bt-tracker, so the torrent file stays the fixture's) that lists exactly the peers under test.
 * Plaintext allowed (--bt-require-crypto=false, --bt-min-crypto-level=plain), TCP, no DHT, LPD or
 * PEX, IPv4 only. Its log (--log-level=info) names every message in and out: the sequence of a
 * failure is in the cell's log.
 */
import { execFile } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { StaticTracker } from '../static-tracker.js'
import { start, waitLine, type Child } from '../proc.js'
import type { InteropClient, LeechOptions, RunningClient, RunningLeecher, SeedOptions } from './types.js'

const run = promisify(execFile)
const ARIA2C = 'aria2c'
/** A seed verifies its data first (--check-integrity): 8 MiB, a loaded machine. */
const READY_MS = 30_000
/** aria2c prints this once its BitTorrent listener is up (1.36: "IPv4 BitTorrent: listening on TCP port N"). */
const LISTENING = /BitTorrent: listening on TCP port (\d+)/

/** Options both roles share: loopback only, no discovery, plaintext allowed, a log we can read. */
function commonArgs (host: string, port: number, dir: string): string[] {
  return [
    '--no-conf',
    `--dir=${dir}`,
    `--listen-port=${port}`,
    `--interface=${host}`,
    `--bt-external-ip=${host}`,
    '--disable-ipv6=true',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--bt-require-crypto=false',
    '--bt-min-crypto-level=plain',
    '--file-allocation=none',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--log=-',
    '--log-level=info',
    // If the harness dies, aria2c ends too.
    `--stop-with-process=${process.pid}`
  ]
}

let cached: Promise<{ version?: string, why?: string }> | undefined
function probe (): Promise<{ version?: string, why?: string }> {
  cached ??= (async () => {
    try {
      const { stdout } = await run(ARIA2C, ['--version'], { timeout: 10_000 })
      // "aria2 version 1.36.0" on its first line.
      const v = /aria2 version (\S+)/.exec(stdout)?.[1]
      return { version: `aria2c ${v ?? '(unknown version)'}` }
    } catch {
      return { why: 'aria2c not installed: apt-get install aria2' }
    }
  })()
  return cached
}

/**
 * The log keeps the message sequence without the bulk: every message aria2c names (handshakes,
 * have, bitfield, allowed fast, choke...) except the requests and pieces, plus errors and bans.
 */
function worthLogging (line: string): boolean {
  if (/ (request|piece|cancel|reject) index=/.test(line)) return false
  return /From: |To: |Exception|banned|ERROR|WARN|NOTICE|errorCode|listening/.test(line)
}

async function startAria2 (args: string[]): Promise<{ child: Child, port: number }> {
  const child = start(ARIA2C, args, { lines: 'stdout', keepInLog: worthLogging })
  try {
    const port = await waitLine(child, READY_MS, 'aria2c', line => {
      const m = LISTENING.exec(line)
      return m?.[1] !== undefined ? Number(m[1]) : undefined
    })
    return { child, port }
  } catch (err) {
    await child.stop()
    throw new Error(`${(err as Error).message}\n${child.log.toString()}`)
  }
}

export const aria2c: InteropClient = {
  name: 'aria2c',
  async version () { return (await probe()).version ?? 'aria2 (unknown version)' },
  async unavailable () { return (await probe()).why },

  async seed (opts: SeedOptions): Promise<RunningClient> {
    const { child, port } = await startAria2([
      ...commonArgs(opts.host, opts.port, opts.dataDir),
      // Verify the data, then seed for ever (ratio 0.0 means no ratio limit).
      '--check-integrity=true',
      '--seed-ratio=0.0',
      opts.torrentPath
    ])
    return {
      host: opts.host,
      port,
      log: () => child.log.toString(),
      stop: async () => {
        await child.stop()
        // The control file aria2c may leave beside the data is its state, not the fixture's.
        await rm(join(opts.dataDir, `${opts.name}.aria2`), { force: true })
      }
    }
  },

  async leech (opts: LeechOptions, timeoutMs: number): Promise<RunningLeecher> {
    const tracker = new StaticTracker()
    await tracker.listen()
    const infoHash = await infoHashOf(opts.torrentPath)
    tracker.setPeers(infoHash, opts.peers)
    let child: Child
    let port: number
    try {
      ({ child, port } = await startAria2([
        ...commonArgs(opts.host, opts.port, opts.saveDir),
        `--bt-tracker=${tracker.url}`,
        '--bt-tracker-interval=5',
        // Exit as soon as the download is complete and verified: the exit is our "done".
        '--seed-time=0',
        opts.torrentPath
      ]))
    } catch (err) {
      await tracker.close()
      throw err
    }
    // What a stall message needs: how far it got, and how often aria2c had to dial again.
    let progress = 'nothing'
    let dials = 0
    child.onLine(line => {
      const m = /\[#\w+ ([^ ]+\/[^ ]+) /.exec(line)
      if (m?.[1] !== undefined) progress = m[1]
      if (/ To: \S+ handshake /.test(line)) dials++
    })
    let timer: NodeJS.Timeout | undefined
    const done = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`aria2c: not complete after ${timeoutMs / 1000} s: had ${progress}; it connected to our seed ${dials} time(s) in ${tracker.announces.get(infoHash) ?? 0} announces`)), timeoutMs)
      child.exited.then(({ code, signal }) => {
        if (code === 0) resolve()
        else reject(new Error(`aria2c exited ${signal ?? `with code ${code}`} before it had the torrent`))
      }, reject)
    }).finally(() => clearTimeout(timer))
    done.catch(() => {})
    return {
      host: opts.host,
      port,
      done,
      log: () => child.log.toString(),
      stop: async () => {
        clearTimeout(timer)
        await child.stop()
        await tracker.close()
      }
    }
  }
}

/** The torrent's v1 info hash, read with our own parser (the tracker is asked by info hash). */
async function infoHashOf (torrentPath: string): Promise<string> {
  return parseTorrent(await readFile(torrentPath)).infoHashHex
}
