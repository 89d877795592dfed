/**
 * What every command that talks to a swarm shares: its options, reading the torrent, and the
 * progress line.
 */
import { parseMagnet } from '../magnet/parse.js'
import { parseTorrent } from '../metainfo/parse.js'
import type { Metainfo } from '../metainfo/types.js'
import type { PeerAddress } from '../tracker/compact.js'
import { fetchMagnetMetadata } from '../session/magnet-metadata.js'
import type { DhtOptions } from '../session/dht-source.js'
import { UsageError } from '../util/errors.js'
import type { EncryptionPolicy } from '../wire/connect.js'
import { optionInt, optionString, type OptionSpec, type ParsedArgs } from './args.js'
import { parseAddress } from './commands/handshake.js'
import type { CliIO } from './io.js'
import { ProgressLine } from './progress-line.js'
import { readInput } from './read-input.js'

/** Options of every swarm command. */
export const SWARM_OPTIONS: OptionSpec[] = [
  { long: 'no-dht', value: false },
  { long: 'dht-bootstrap', value: true },
  { long: 'dht-port', value: true },
  { long: 'metadata-timeout', value: true },
  { long: 'max-peers', value: true },
  { long: 'port', value: true },
  { long: 'peer', value: true },
  { long: 'no-trackers', value: false },
  { long: 'stall-timeout', value: true },
  { long: 'encryption', value: true },
  { long: 'progress', value: false },
  { long: 'quiet', short: 'q', value: false },
  { long: 'help', short: 'h', value: false }
]

/** The options every swarm command shares. */
/** `--peer host:port[,host:port...]`. */
export function peersOption (args: ParsedArgs): PeerAddress[] {
  const peerList = optionString(args, 'peer')
  return peerList === undefined ? [] : peerList.split(',').map(parseAddress)
}

export function swarmOptions (args: ParsedArgs, meta?: Metainfo): SwarmCliOptions {
  const peers = peersOption(args)
  const trackers = !args.options.has('no-trackers')
  return {
    maxPeers: optionInt(args, 'max-peers', 1, 1000),
    port: optionInt(args, 'port', 1, 65535),
    peers,
    trackers,
    stallTimeoutMs: (optionInt(args, 'stall-timeout', 1, 86400) ?? 60) * 1000,
    encryption: encryptionOption(args),
    // Needed: nothing else would find a peer (no tracker to ask, none given).
    ...dhtOptions(args, peers.length === 0 && (meta === undefined || meta.announce.length === 0 || !trackers))
  }
}

export interface SwarmCliOptions extends DhtOptions {
  readonly maxPeers?: number
  readonly port?: number
  readonly peers: PeerAddress[]
  readonly trackers: boolean
  readonly stallTimeoutMs: number
  /** MSE/PE, dialing and accepting (lib/crypto/README.md); default 'prefer'. */
  readonly encryption: EncryptionPolicy
}

const POLICIES: readonly EncryptionPolicy[] = ['prefer', 'require', 'off']

/** `--encryption prefer|require|off` (MSE/PE protocol encryption). */
export function encryptionOption (args: ParsedArgs): EncryptionPolicy {
  const v = optionString(args, 'encryption') ?? 'prefer'
  if (!(POLICIES as readonly string[]).includes(v)) throw new UsageError(`--encryption takes ${POLICIES.join(', ')}, not "${v}"`)
  return v as EncryptionPolicy
}

/**
 * The DHT (BEP 5) is asked when it is needed: a magnet, or a torrent without trackers, when no
 * peer was given; otherwise once every tracker failed. Never with --no-dht, nor for a private torrent.
 * `--dht-bootstrap` turns it on whatever the torrent says.
 */
export function dhtOptions (args: ParsedArgs, needed: boolean): DhtOptions {
  const bootstrap = optionString(args, 'dht-bootstrap')
  return {
    dht: args.options.has('no-dht') ? false : needed || bootstrap !== undefined ? true : 'fallback',
    dhtBootstrap: bootstrap?.split(',').filter(s => s !== ''),
    dhtPort: optionInt(args, 'dht-port', 1, 65535)
  }
}

/** Progress goes to stderr when it is a terminal, or with --progress; never with --quiet. */
export function progressLine (args: ParsedArgs, io: CliIO): { show: boolean, line: ProgressLine, tty: boolean } {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true
  const show = !args.options.has('quiet') && (tty || args.options.has('progress'))
  return { show, line: new ProgressLine(io.stderr, tty), tty }
}

export interface LoadedMeta {
  readonly meta: Metainfo
  /** Peers that served a magnet's metadata: the download dials them first. */
  readonly peers: PeerAddress[]
  /** BEP 53 `so=`: the files a magnet selects. */
  readonly selectOnly?: readonly number[]
}

/**
 * A .torrent from a file or stdin, or a magnet's metadata fetched from its peers (BEP 9), with
 * a progress note on stderr while it waits.
 */
export async function loadMeta (source: string, io: CliIO, args: ParsedArgs): Promise<LoadedMeta> {
  if (!/^magnet:/i.test(source)) return { meta: parseTorrent(await readInput(source, io.stdin)), peers: [] }
  const magnet = parseMagnet(source)
  const opts = swarmOptions(args)
  const show = progressLine(args, io).show
  if (show) io.stderr.write(`bt-stream: fetching the metadata of ${magnet.name ?? magnet.infoHashHex} from peers ...\n`)
  const got = await fetchMagnetMetadata(magnet, {
    ...opts,
    timeoutMs: (optionInt(args, 'metadata-timeout', 1, 3600) ?? 120) * 1000,
    signal: io.signal
  })
  return { meta: got.meta, peers: got.peers, selectOnly: magnet.selectOnly }
}
