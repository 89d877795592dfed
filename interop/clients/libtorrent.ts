/**
 * libtorrent 2.0 (Debian python3-libtorrent) through interop/clients/libtorrent-client.py, run by
 * Debian's /usr/bin/python3 (a pyenv python3 on PATH has no libtorrent module). Plaintext out, TCP
 * only, no rate limits, no DHT/LSD/UPnP: see the script.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { start, waitLine, type Child } from '../proc.js'
import type { InteropClient, LeechOptions, RunningClient, RunningLeecher, SeedOptions } from './types.js'

const run = promisify(execFile)
/** Debian's interpreter, where python3-libtorrent installs the module. */
export const SYSTEM_PYTHON = '/usr/bin/python3'
/** The script sits beside this file's source; this file runs from dist/interop/clients/. */
const SCRIPT = fileURLToPath(new URL('../../../interop/clients/libtorrent-client.py', import.meta.url))
/** Seeding starts after a full check of the data: 8 MiB, a loaded machine. */
const READY_MS = 30_000

interface Line { event?: string, port?: number, host?: string, done?: number, total?: number }

function parse (line: string): Line | undefined {
  if (!line.startsWith('{')) return undefined
  try { return JSON.parse(line) as Line } catch { return undefined }
}

let cachedVersion: Promise<{ version?: string, why?: string }> | undefined
function probe (): Promise<{ version?: string, why?: string }> {
  cachedVersion ??= (async () => {
    if (!existsSync(SYSTEM_PYTHON)) return { why: `${SYSTEM_PYTHON} not found: apt-get install python3 python3-libtorrent` }
    try {
      const { stdout } = await run(SYSTEM_PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)'], { timeout: 10_000 })
      return { version: `libtorrent ${stdout.trim()}` }
    } catch {
      return { why: 'python3-libtorrent not installed: apt-get install python3-libtorrent' }
    }
  })()
  return cachedVersion
}

async function startScript (args: string[]): Promise<{ child: Child, port: number }> {
  const child = start(SYSTEM_PYTHON, [SCRIPT, ...args], { lines: 'stdout', stdio: ['pipe', 'pipe', 'pipe'] })
  try {
    const port = await waitLine(child, READY_MS, 'libtorrent', line => {
      const msg = parse(line)
      return msg?.event === 'listen' ? msg.port : undefined
    })
    if (port === undefined) throw new Error('libtorrent: no port in its listen line')
    return { child, port }
  } catch (err) {
    await child.stop()
    throw new Error(`${(err as Error).message}\n${child.log.toString()}`)
  }
}

function running (child: Child, host: string, port: number): RunningClient {
  return { host, port, log: () => child.log.toString(), stop: () => child.stop() }
}

export const libtorrent: InteropClient = {
  name: 'libtorrent',
  async version () { return (await probe()).version ?? 'libtorrent (unknown version)' },
  async unavailable () { return (await probe()).why },

  async seed (opts: SeedOptions): Promise<RunningClient> {
    const { child, port } = await startScript(['seed', opts.torrentPath, opts.dataDir, opts.host, String(opts.port)])
    return running(child, opts.host, port)
  },

  async leech (opts: LeechOptions, timeoutMs: number): Promise<RunningLeecher> {
    const peers = opts.peers.map(p => `${p.host}:${p.port}`)
    const { child, port } = await startScript(['leech', opts.torrentPath, opts.saveDir, opts.host, String(opts.port), ...peers])
    let last = ''
    const done = waitLine(child, timeoutMs, 'libtorrent leech', line => {
      const msg = parse(line)
      if (msg?.event === 'progress') last = `${msg.done ?? 0}/${msg.total ?? 0} bytes`
      return msg?.event === 'finished' ? true : undefined
    }).then(() => {}, (err: Error) => { throw new Error(`${err.message} (had ${last || 'nothing'})`) })
    // The caller may stop() before awaiting `done`: no unhandled rejection then.
    done.catch(() => {})
    return { ...running(child, opts.host, port), done }
  }
}
