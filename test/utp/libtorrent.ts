import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Debian's interpreter, where python3-libtorrent installs the module (not a pyenv python3). */
export const SYSTEM_PYTHON = '/usr/bin/python3'
/** bench/libtorrent-utp.py; this file runs from dist/test/utp/. */
export const LT_UTP_SCRIPT = fileURLToPath(new URL('../../../bench/libtorrent-utp.py', import.meta.url))

/** The skip reason when libtorrent is not here. */
export function libtorrentSkip (): string | false {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found: apt-get install python3 python3-libtorrent`
  try {
    execFileSync(SYSTEM_PYTHON, ['-c', 'import libtorrent'], { timeout: 10_000, stdio: 'ignore' })
    return false
  } catch {
    return 'python3-libtorrent not installed: apt-get install python3-libtorrent'
  }
}

export interface LtChild {
  readonly child: ChildProcess
  /** Resolves with the first stdout line matching `match`; rejects if the process exits first or after `ms`. */
  line (match: RegExp, ms: number): Promise<string>
  log (): string
  stop (): Promise<void>
}

/** Runs bench/libtorrent-utp.py; stdin stays open (closing it ends the script), stop() kills by PID. */
export function runLibtorrent (args: readonly string[]): LtChild {
  const child = spawn(SYSTEM_PYTHON, [LT_UTP_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const waiters: Array<() => void> = []
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); for (const w of waiters) w() })
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); for (const w of waiters) w() }))
  return {
    child,
    log: () => `stdout: ${out}\nstderr: ${err}`,
    line: (match, ms) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`libtorrent: no ${match} within ${ms} ms\n${out}\n${err}`)) }, ms)
      const check = (): void => {
        const l = out.split('\n').find(x => match.test(x))
        if (l !== undefined) { clearTimeout(timer); resolve(l); return }
        if (child.exitCode !== null) { clearTimeout(timer); reject(new Error(`libtorrent exited ${child.exitCode}\n${out}\n${err}`)) }
      }
      waiters.push(check)
      check()
    }),
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) {
        child.stdin?.end()
        process.kill(child.pid, 'SIGKILL')
      }
      await exited
    }
  }
}
