/**
 * What every command that talks to a swarm shares: its options, reading the torrent, and the
 * progress line.
 */
import { parseMagnet } from '../magnet/parse.js'
import { parseTorrent } from '../metainfo/parse.js'
import type { Metainfo } from '../metainfo/types.js'
import type { PeerAddress } from '../tracker/compact.js'
import { DownloadError } from '../util/errors.js'
import { optionInt, optionString, type OptionSpec, type ParsedArgs } from './args.js'
import { parseAddress } from './commands/handshake.js'
import type { CliIO } from './io.js'
import { ProgressLine } from './progress-line.js'
import { readInput } from './read-input.js'

/** Options of every swarm command. */
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

/** The options every swarm command shares. */
export function swarmOptions (args: ParsedArgs): { maxPeers?: number, port?: number, peers: PeerAddress[], trackers: boolean, stallTimeoutMs: number } {
  const peerList = optionString(args, 'peer')
  return {
    maxPeers: optionInt(args, 'max-peers', 1, 1000),
    port: optionInt(args, 'port', 1, 65535),
    peers: peerList === undefined ? [] : peerList.split(',').map(parseAddress),
    trackers: !args.options.has('no-trackers'),
    stallTimeoutMs: (optionInt(args, 'stall-timeout', 1, 86400) ?? 60) * 1000
  }
}

/** Progress goes to stderr when it is a terminal, or with --progress; never with --quiet. */
export function progressLine (args: ParsedArgs, io: CliIO): { show: boolean, line: ProgressLine, tty: boolean } {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true
  const show = !args.options.has('quiet') && (tty || args.options.has('progress'))
  return { show, line: new ProgressLine(io.stderr, tty), tty }
}

export async function loadMeta (source: string, io: CliIO): Promise<Metainfo> {
  if (/^magnet:/i.test(source)) {
    const magnet = parseMagnet(source)
    throw new DownloadError(`magnet ${magnet.infoHashHex}: fetching metadata from peers (BEP 9) is not built yet; use the .torrent`)
  }
  return parseTorrent(await readInput(source, io.stdin))
}
