import { pipeline } from 'node:stream/promises'
import { parseMagnet } from '../../magnet/parse.js'
import { parseTorrent } from '../../metainfo/parse.js'
import type { Metainfo } from '../../metainfo/types.js'
import { chunker } from '../../output/chunker.js'
import { progressMeter } from '../../output/progress-meter.js'
import { download, type DownloadOptions } from '../../session/download.js'
import { DownloadError, UsageError } from '../../util/errors.js'
import { optionInt, optionSize, optionString, parseArgs, type OptionSpec, type ParsedArgs } from '../args.js'
import type { CliIO, Command } from '../io.js'
import { parseAddress } from './handshake.js'
import { ProgressLine } from '../progress-line.js'
import { readInput } from '../read-input.js'

const HELP = `usage: bt-stream <file.torrent | magnet:?... | -> [options] > out

Downloads the torrent from its swarm and writes it to stdout, in order, while it downloads.
Every piece is SHA-1 verified before any of its bytes is written.

options:
  --file SEL         one file of a multi-file torrent: its index or path (see bt-stream info)
  --max-peers N      open connections at most (default 50)
  --window SIZE      bytes held in memory ahead of stdout (default 32M)
  --port N           the port announced to trackers
  --peer LIST        extra peers to dial: host:port[,host:port...]
  --no-trackers      do not ask the torrent's trackers (use --peer)
  --stall-timeout S  give up after S seconds with no peer and no data (default 60)
  --progress         print progress on stderr even when it is not a terminal
  --quiet            no progress line
  --help             this text
`

/** Options shared with `bt-stream piece`. */
export const SWARM_OPTIONS: OptionSpec[] = [
  { long: 'max-peers', value: true },
  { long: 'port', value: true },
  { long: 'peer', value: true },
  { long: 'no-trackers', value: false },
  { long: 'stall-timeout', value: true },
  { long: 'progress', value: false },
  { long: 'quiet', short: 'q', value: false },
  { long: 'help', short: 'h', value: false }
]

const OPTIONS: OptionSpec[] = [
  ...SWARM_OPTIONS,
  { long: 'file', value: true },
  { long: 'window', value: true }
]

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, OPTIONS)
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  if (args.positionals.length !== 1) throw new UsageError('give exactly one .torrent file, magnet URI or -')
  const meta = await loadMeta(args.positionals[0] as string, io)
  const fileOpt = optionString(args, 'file')
  return await toStdout(meta, args, io, {
    file: fileOpt === undefined ? undefined : /^\d+$/.test(fileOpt) ? Number(fileOpt) : fileOpt,
    windowBytes: optionSize(args, 'window', 1024 * 1024, 4 * 1024 ** 3)
  })
}

/** Runs a download of `meta` (what `extra` selects) into stdout, with the swarm options in `args`. */
export async function toStdout (meta: Metainfo, args: ParsedArgs, io: CliIO, extra: DownloadOptions): Promise<number> {
  const peerList = optionString(args, 'peer')
  const stream = download(meta, {
    ...extra,
    maxPeers: optionInt(args, 'max-peers', 1, 1000),
    port: optionInt(args, 'port', 1, 65535),
    peers: peerList === undefined ? [] : peerList.split(',').map(parseAddress),
    trackers: !args.options.has('no-trackers'),
    stallTimeoutMs: (optionInt(args, 'stall-timeout', 1, 86400) ?? 60) * 1000
  })
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true
  const show = !args.options.has('quiet') && (tty || args.options.has('progress'))
  const line = new ProgressLine(io.stderr, tty)
  const meter = progressMeter()
  const total = stream.selection.end - stream.selection.start
  const draw = (): void => line.draw({ delivered: meter.bytes, total, rate: stream.progress.rate, peers: stream.progress.peers })
  const timer = show ? setInterval(draw, tty ? 250 : 2000) : undefined
  const onAbort = (): void => { stream.destroy(new DownloadError(String((io.signal.reason as Error | undefined)?.message ?? 'stopped'))) }
  io.signal.addEventListener('abort', onAbort, { once: true })
  try {
    await pipeline(stream, meter, chunker(), io.stdout, { end: false })
    if (show) draw()
    return 0
  } catch (err) {
    // A reader that has seen enough (`| head -c`) is not a failure.
    if (isClosedPipe(err) || isClosedPipe(io.signal.reason)) return 0
    throw err
  } finally {
    if (timer !== undefined) clearInterval(timer)
    if (show) line.done()
    io.signal.removeEventListener('abort', onAbort)
    await stream.stopped
  }
}

export async function loadMeta (source: string, io: CliIO): Promise<Metainfo> {
  if (/^magnet:/i.test(source)) {
    const magnet = parseMagnet(source)
    throw new DownloadError(`magnet ${magnet.infoHashHex}: fetching metadata from peers (BEP 9) is not built yet; use the .torrent`)
  }
  return parseTorrent(await readInput(source, io.stdin))
}

function isClosedPipe (err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE'
}
