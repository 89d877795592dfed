import { main } from './main.js'
import { describeSystemError } from '../util/errors.js'
import { pinHeapGrowth } from '../util/heap-growth.js'

/**
 * Binds main() to the real process: signals abort the running command (exit 130/143 as shells
 * expect), and a closed stdout (EPIPE, `| head`) ends quietly instead of crashing.
 *
 * A command whose promise never settles while nothing is left to wait for (every timer unref'd,
 * every socket closed) would let Node exit 0 with nothing done: `bt-stream m > f && use f` would
 * then use an empty file. That is a bug in the command; it exits 1 and says so.
 */
export function run (entry: typeof main = main): void {
  pinHeapGrowth()
  const controller = new AbortController()
  let signalExit: number | undefined
  const onSignal = (code: number) => () => {
    if (signalExit !== undefined) process.exit(code) // a second ^C: stop waiting
    signalExit = code
    controller.abort(new Error(code === 130 ? 'interrupted' : 'terminated'))
  }
  process.on('SIGINT', onSignal(130))
  process.on('SIGTERM', onSignal(143))
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') controller.abort(err)
    else process.stderr.write(`bt-stream: stdout: ${describeSystemError(err)}\n`)
  })
  let settled = false
  process.once('beforeExit', () => {
    if (settled) return
    process.stderr.write('bt-stream: internal error: the command stopped with nothing left to wait for and no result\n')
    process.exitCode = signalExit ?? 1
  })
  entry(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal: controller.signal })
    .finally(() => { settled = true })
    .then(code => {
      process.exitCode = signalExit ?? code
      // Everything we opened is closed by now; should a stray handle keep the loop alive, leave
      // anyway (the timer is unref'd: it never delays a clean exit).
      setTimeout(() => process.exit(), 3000).unref()
    })
    .catch((err: unknown) => {
      process.stderr.write(`bt-stream: internal error: ${String(err)}\n`)
      process.exitCode = 1
    })
}
