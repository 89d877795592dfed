import { BtStreamError, UsageError } from '../util/errors.js'
import type { CliIO, Command } from './io.js'
import { ReportedError } from './reporter.js'

/**
 * Subcommands, each in lib/cli/commands/<name>.ts. Loaded lazily so `bt-stream info` does not
 * pay for the swarm's modules.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  create: async () => (await import('./commands/create.js')).command,
  decode: async () => (await import('./commands/decode.js')).command,
  download: async () => (await import('./commands/download.js')).command,
  info: async () => (await import('./commands/info.js')).command,
  peers: async () => (await import('./commands/peers.js')).command,
  piece: async () => (await import('./commands/piece.js')).command,
  seed: async () => (await import('./commands/seed.js')).command,
  handshake: async () => (await import('./commands/handshake.js')).command
}

function usage (): string {
  return 'usage: bt-stream <file.torrent | magnet:?... | -> [options] > out\n       bt-stream <command> [options]\n\ncommands:\n' + Object.keys(COMMANDS).sort().map(c => `  ${c}`).join('\n') + '\n' +
    '\nRun `bt-stream <command> --help` for a command\'s options.\n'
}

/** Exit codes: 0 ok, 1 the job failed (bad torrent, no peers, disk), 2 usage. */
export async function main (argv: readonly string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h') {
    io.stdout.write(usage())
    return first === undefined ? 2 : 0
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`bt-stream ${await version()}\n`)
    return 0
  }
  // `bt-stream x.torrent` (or a magnet, or `-`) is the main job: a download to stdout.
  const isCommand = Object.hasOwn(COMMANDS, first)
  const load = isCommand ? COMMANDS[first] : looksLikeSource(first) ? COMMANDS.download : undefined
  try {
    if (load === undefined) throw new UsageError(`unknown command "${first}"`)
    const command = await load()
    return await command(isCommand ? rest : argv, io)
  } catch (err) {
    return reportError(err, io)
  }
}

function looksLikeSource (arg: string): boolean {
  return arg === '-' || /^magnet:/i.test(arg) || !arg.startsWith('-')
}

/** One line on stderr for our own errors; a stack only for bugs (anything else). */
export function reportError (err: unknown, io: CliIO): number {
  // `--json`: the command's summary line carried the error already; stderr stays all JSON.
  if (err instanceof ReportedError) return err.exitCode
  if (err instanceof UsageError) {
    io.stderr.write(`bt-stream: ${err.message}\n(see bt-stream --help)\n`)
    return 2
  }
  if (err instanceof BtStreamError) {
    io.stderr.write(`bt-stream: ${err.message}\n`)
    return 1
  }
  io.stderr.write(`bt-stream: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  return 1
}

async function version (): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
