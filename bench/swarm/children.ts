import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { sampleProc, type ProcSampler, type ProcUsage } from './proc-stats.js'

/** How a measured child ended, on the benchmark's clock (ms from performance.now()). */
export interface Exit { code: number | null, signal: NodeJS.Signals | null, at: number }

export interface Child {
  readonly proc: ChildProcess
  readonly pid: number
  readonly startedAt: number
  readonly exited: Promise<Exit>
  /** Peak RSS and CPU time sampled so far; final once `exited` has settled. */
  usage (): ProcUsage
  /** Lines of stderr kept for error messages (the last few only). */
  stderrTail (): string
  /** SIGTERM, then SIGKILL if it is still there after a grace period; resolves once it exited. */
  stop (): Promise<Exit>
}

const STDERR_LINES = 20

/**
 * Every process the benchmark starts, so each is killed by its PID at the end, on errors too.
 * No process group kill: only the PIDs spawned here.
 */
export class Children {
  private readonly live = new Set<Child>()
  private closed = false

  start (command: string, args: string[], opts: SpawnOptions = {}): Child {
    // After close() (Ctrl-C): the run still unwinding must not start what nobody will stop.
    if (this.closed) throw new Error(`not starting ${command}: the benchmark is stopping`)
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
    if (proc.pid === undefined) throw new Error(`could not start ${command}`)
    const pid = proc.pid
    const sampler: ProcSampler = sampleProc(pid)
    let tail: string[] = []
    proc.stderr?.setEncoding('utf8')
    proc.stderr?.on('data', (s: string) => { tail = tail.concat(s.split('\n').filter(l => l !== '')).slice(-STDERR_LINES) })
    const startedAt = performance.now()
    const exited = new Promise<Exit>(resolve => {
      // 'exit' comes before stdio closes; the sampler's last read is as late as it can be.
      proc.once('exit', (code, signal) => { sampler.stop(); resolve({ code, signal, at: performance.now() }) })
      proc.once('error', () => { sampler.stop(); resolve({ code: null, signal: null, at: performance.now() }) })
    })
    const child: Child = {
      proc,
      pid,
      startedAt,
      exited,
      usage: () => sampler.usage,
      stderrTail: () => tail.join('\n'),
      stop: async () => { await this.stopAll([child]); return await exited }
    }
    this.live.add(child)
    void exited.then(() => this.live.delete(child))
    return child
  }

  /** SIGTERM each live child by PID, then SIGKILL what is still there after a grace period. */
  async killAll (): Promise<void> {
    await this.stopAll([...this.live])
  }

  /**
   * For a signal handler: no child starts from now on, and every live one is killed as killAll
   * does. The benchmark's own code keeps running until the handler exits the process; what it
   * tries to start meanwhile fails instead of outliving it.
   */
  async close (): Promise<void> {
    this.closed = true
    await this.killAll()
  }

  private async stopAll (left: Child[], graceMs = 2000): Promise<void> {
    for (const c of left) kill(c.pid, 'SIGTERM')
    const timeout = new Promise<void>(resolve => setTimeout(resolve, graceMs).unref())
    await Promise.race([Promise.all(left.map(c => c.exited)), timeout])
    for (const c of left) if (this.live.has(c)) kill(c.pid, 'SIGKILL')
    await Promise.all(left.map(c => c.exited))
  }
}

function kill (pid: number, signal: NodeJS.Signals): void {
  try { process.kill(pid, signal) } catch { /* already gone */ }
}

/** A line a child printed on stdout, stamped on the benchmark's clock when it arrived. */
export interface Line { text: string, at: number }

/**
 * Records every stdout line of a child from now on, so lines that arrive together are all seen;
 * `when` resolves with the first matching line (already seen or to come), or rejects on exit.
 */
export function watchLines (child: Child): { when (test: (text: string) => boolean, timeoutMs: number): Promise<Line> } {
  const seen: Line[] = []
  const waiters = new Set<() => void>()
  let buf = ''
  let ended = false
  child.proc.stdout?.on('data', (s: Buffer) => {
    const at = performance.now()
    buf += s.toString('utf8')
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      seen.push({ text: buf.slice(0, nl), at })
      buf = buf.slice(nl + 1)
    }
    for (const w of waiters) w()
  })
  void child.exited.then(() => { ended = true; for (const w of waiters) w() })
  return {
    when (test, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no expected output in ${timeoutMs / 1000} s\n${child.stderrTail()}`)), timeoutMs)
        const check = (): void => {
          const hit = seen.find(l => test(l.text))
          if (hit !== undefined) finish(undefined, hit)
          else if (ended) finish(new Error(`exited before the expected output\n${child.stderrTail()}`))
        }
        const finish = (err?: Error, line?: Line): void => {
          clearTimeout(timer)
          waiters.delete(check)
          if (err !== undefined) reject(err)
          else resolve(line as Line)
        }
        waiters.add(check)
        check()
      })
    }
  }
}

/** Rejects after `ms` with `what` in the message; the caller kills what it started. */
export function deadline<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: aborted after ${ms / 1000} s`)), ms) })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}
