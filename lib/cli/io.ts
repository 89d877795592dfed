import type { Readable, Writable } from 'node:stream'

/** What a command may touch of the process: injected so tests run commands in-process. */
export interface CliIO {
  readonly stdin: Readable
  readonly stdout: Writable
  readonly stderr: Writable
  /** Aborted on SIGINT/SIGTERM; long-running commands stop cleanly when it fires. */
  readonly signal: AbortSignal
}

/** A subcommand: resolves to the process exit code. Throws only BtStreamError subclasses. */
export type Command = (argv: readonly string[], io: CliIO) => Promise<number>
