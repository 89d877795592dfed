import { BtStreamError, messageInWords, UsageError } from '../util/errors.js'
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
  serve: async () => (await import('./commands/serve.js')).command,
  handshake: async () => (await import('./commands/handshake.js')).command
}

/** One line per command, for the top-level help. */
const SUMMARIES: Record<string, string> = {
  create: 'make a .torrent from a file or directory',
  decode: 'print any bencoded file (a .torrent, a tracker answer) as JSON',
  download: 'the default: bt-stream download x.torrent is bt-stream x.torrent',
  handshake: 'handshake with one peer and print what it says about itself',
  info: 'show what a .torrent or magnet describes: files, trackers, info hash',
  peers: 'ask the trackers once and list the peers they return',
  piece: 'fetch and SHA-1 check one piece (debugging a swarm)',
  seed: 'serve a torrent\'s data from disk until Ctrl-C',
  serve: 'an HTTP server for players (mpv, VLC, a browser): files with ranges and seeking'
}

async function usage (): Promise<string> {
  const { DOWNLOAD_OPTIONS_HELP } = await import('./download-help.js')
  const width = Math.max(...Object.keys(COMMANDS).map(c => c.length))
  return 'usage: bt-stream <file.torrent | URL | magnet:?... | -> [options] > out   download to stdout\n' +
    '       bt-stream <file.torrent | URL | magnet:?...> -o PATH [options]     download to disk\n' +
    '       bt-stream <command> [options]\n\ncommands:\n' +
    Object.keys(COMMANDS).sort().map(c => `  ${c.padEnd(width)}  ${SUMMARIES[c] ?? ''}`).join('\n') + '\n' +
    '\ndownload options:\n' + DOWNLOAD_OPTIONS_HELP + '\n' +
    '\nRun `bt-stream <command> --help` for a command\'s options. Timeouts are in seconds.\n' +
    'Exit codes: 0 done, 1 the job failed (one line says why), 2 usage, 130/143 interrupted.\n'
}

/** Exit codes: 0 ok, 1 the job failed (bad torrent, no peers, disk), 2 usage. */
export async function main (argv: readonly string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h') {
    io.stdout.write(await usage())
    return first === undefined ? 2 : 0
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`bt-stream ${await version()}\n`)
    return 0
  }
  try {
    // `bt-stream x.torrent` (or a URL, a magnet, `-`, or options first) is the main job: a download.
    const isCommand = Object.hasOwn(COMMANDS, first)
    if (!isCommand) await checkSource(first)
    const command = await (isCommand ? COMMANDS[first] as () => Promise<Command> : COMMANDS.download as () => Promise<Command>)()
    return await command(isCommand ? rest : argv, io)
  } catch (err) {
    return reportError(err, io)
  }
}

/**
 * The first word is not a command: a download source (or an option) unless it is a typo of a
 * command (`infoo`) that names no file, which is said as such, with the command meant.
 */
async function checkSource (arg: string): Promise<void> {
  if (arg.startsWith('-') || /^(magnet:|https?:\/\/)/i.test(arg)) return
  const { stat } = await import('node:fs/promises')
  if (await stat(arg).then(() => true, () => false)) return
  const near = nearestCommand(arg)
  if (near !== undefined) throw new UsageError(`unknown command "${arg}"; did you mean "${near}"?`)
  // A word with no extension or path is a command, not a file name, to most who type it.
  if (!/[./\\]/.test(arg)) throw new UsageError(`unknown command "${arg}" (and no file of that name); commands: ${Object.keys(COMMANDS).sort().join(', ')}`)
}

/** Typos this far from a command (edit distance) are taken as that command: `infoo`, `sed`, `peer`. */
const MAX_TYPO_DISTANCE = 2

export function nearestCommand (word: string): string | undefined {
  let best: string | undefined
  let bestDistance = MAX_TYPO_DISTANCE + 1
  for (const c of Object.keys(COMMANDS).sort()) {
    const d = editDistance(word.toLowerCase(), c)
    if (d < bestDistance) { best = c; bestDistance = d }
  }
  // Short words are close to everything: "a" is one edit from nothing useful.
  return best !== undefined && bestDistance < Math.max(2, word.length - 1) ? best : undefined
}

/** Levenshtein distance (insert, delete, substitute), with one row of memory. */
export function editDistance (a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length] as number
}

/** One line on stderr for our own errors; a stack only for bugs (anything else). */
export function reportError (err: unknown, io: CliIO): number {
  // `--json`: the command's summary line carried the error already; stderr stays all JSON.
  if (err instanceof ReportedError) return err.exitCode
  if (err instanceof UsageError) {
    io.stderr.write(`bt-stream: ${messageInWords(err)}\n(see bt-stream --help)\n`)
    return 2
  }
  if (err instanceof BtStreamError) {
    io.stderr.write(`bt-stream: ${messageInWords(err)}\n`)
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
