/**
 * Child processes for the interop suite: each one started here is tracked by its PID, its output
 * kept in a bounded tail (for a failure message), and ended by that PID (SIGTERM, then SIGKILL).
 * Nothing here ends a process it did not start.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'

/** A failing cell prints this much of a client's log: the end is where the reason is. */
export const LOG_TAIL_CHARS = 16 * 1024
/** A process asked to stop gets this long before SIGKILL. */
const KILL_GRACE_MS = 3000

/** The last `max` characters written to it: logs of a long run stay bounded. */
export class TailLog {
  private text = ''
  constructor (private readonly max = LOG_TAIL_CHARS) {}
  append (s: string): void {
    this.text += s
    if (this.text.length > this.max * 2) this.text = this.text.slice(-this.max)
  }

  toString (): string {
    return this.text.length > this.max ? '...' + this.text.slice(-this.max) : this.text
  }
}

export interface Child {
  readonly proc: ChildProcess
  readonly pid: number
  readonly log: TailLog
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Calls `fn` with each complete line of the `lines` stream. */
  onLine (fn: (line: string) => void): void
  /** SIGTERM by PID, SIGKILL after a grace period; resolves once it has exited. Idempotent. */
  stop (): Promise<void>
}

export interface StartOptions extends SpawnOptions {
  /** Split this stream into lines for onLine() (it is then read here, not piped anywhere else). */
  readonly lines?: 'stdout' | 'stderr'
  /** With `lines`: only the lines it accepts go to the log (a verbose client's log stays readable). */
  readonly keepInLog?: (line: string) => boolean
  /** stdout is the payload (the caller reads it): kept out of the log. Otherwise it is logged, so a pipe never fills. */
  readonly stdoutIsData?: boolean
}

/** Children still running: ended by PID if this process is ended first (a test runner's timeout). */
const live = new Set<number>()
let reaperInstalled = false

/**
 * When this process exits or is told to stop, the children it started stop too: a test runner
 * that cancels a file (SIGTERM) must not leave a seed listening. Only our own children, by PID.
 */
function installReaper (): void {
  if (reaperInstalled) return
  reaperInstalled = true
  const reap = (): void => { for (const pid of live) killPid(pid, 'SIGKILL') }
  process.once('exit', reap)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      reap()
      process.exit(signal === 'SIGINT' ? 130 : 143)
    })
  }
}

export function start (cmd: string, args: readonly string[], opts: StartOptions = {}): Child {
  installReaper()
  const { lines: _lines, keepInLog, stdoutIsData, ...spawnOpts } = opts
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts })
  const log = new TailLog()
  const listeners: Array<(line: string) => void> = []
  if (proc.pid !== undefined) live.add(proc.pid)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
    proc.once('exit', (code, signal) => {
      if (proc.pid !== undefined) live.delete(proc.pid)
      resolve({ code, signal })
    })
    // A spawn failure (no such binary) has no exit event of its own.
    proc.once('error', err => { log.append(`spawn ${cmd}: ${err.message}\n`); resolve({ code: 127, signal: null }) })
  })
  const lineStream = opts.lines === 'stdout' ? proc.stdout : opts.lines === 'stderr' ? proc.stderr : null
  if (lineStream !== null) {
    let partial = ''
    lineStream.setEncoding('utf8')
    lineStream.on('data', (chunk: string) => {
      partial += chunk
      let nl: number
      while ((nl = partial.indexOf('\n')) !== -1) {
        const line = partial.slice(0, nl)
        partial = partial.slice(nl + 1)
        if (keepInLog === undefined || keepInLog(line)) log.append(line + '\n')
        for (const fn of listeners) fn(line)
      }
      // A line longer than the log bound is noise, not a message we wait for.
      if (partial.length > LOG_TAIL_CHARS) partial = ''
    })
  }
  if (opts.lines !== 'stderr') {
    proc.stderr?.setEncoding('utf8')
    proc.stderr?.on('data', (chunk: string) => log.append(chunk))
  }
  if (opts.lines !== 'stdout' && stdoutIsData !== true) {
    proc.stdout?.setEncoding('utf8')
    proc.stdout?.on('data', (chunk: string) => log.append(chunk))
  }
  let stopping: Promise<void> | undefined
  return {
    proc,
    pid: proc.pid ?? -1,
    log,
    exited,
    onLine: fn => { listeners.push(fn) },
    stop: () => (stopping ??= (async () => {
      if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) { await exited; return }
      killPid(proc.pid, 'SIGTERM')
      const timer = setTimeout(() => killPid(proc.pid, 'SIGKILL'), KILL_GRACE_MS)
      await exited
      clearTimeout(timer)
    })())
  }
}

function killPid (pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try { process.kill(pid, signal) } catch { /* already gone */ }
}

/** Resolves with the first line (of the `lines` stream) `match` accepts; rejects on exit or after `ms`. */
export function waitLine<T> (child: Child, ms: number, what: string, match: (line: string) => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => finish(new Error(`${what}: nothing after ${ms / 1000} s`)), ms)
    const finish = (err: Error | undefined, value?: T): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err !== undefined) reject(err)
      else resolve(value as T)
    }
    child.onLine(line => {
      const v = match(line)
      if (v !== undefined) finish(undefined, v)
    })
    child.exited.then(({ code, signal }) => finish(new Error(`${what}: the process exited (${signal ?? `code ${code}`}) first`)), () => {})
  })
}

/** A TCP port free on `host` right now (bound, read, released; a tiny race we accept on loopback). */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, resolve)
  })
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T> (ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms / 1000} s`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
