/**
 * What every command that talks to a swarm shares: its options, reading the torrent, and the
 * progress line.
 */
import { usableWebSeeds } from '../webseed/url.js'
import { parseMagnet } from '../magnet/parse.js'
import { parseTorrent } from '../metainfo/parse.js'
import type { Metainfo } from '../metainfo/types.js'
import type { PeerAddress } from '../tracker/compact.js'
import { fetchMagnetMetadata } from '../session/magnet-metadata.js'
import type { DhtOptions } from '../session/dht-source.js'
import { UsageError } from '../util/errors.js'
import type { EncryptionPolicy } from '../wire/connect.js'
import type { UtpOptions } from '../utp/session.js'
import { optionInt, optionList, optionSeconds, optionSize, optionString, type OptionSpec, type ParsedArgs } from './args.js'
import { parseAddress } from './commands/handshake.js'
import type { CliIO } from './io.js'
import { ProgressLine } from './progress-line.js'
import { readInput } from './read-input.js'

/** A minute without a byte and without a peer: a dead swarm, not a slow one. */
const DEFAULT_STALL_TIMEOUT_S = 60
/** A magnet's metadata comes from peers found by trackers or the DHT: the DHT alone takes a while. */
const DEFAULT_METADATA_TIMEOUT_S = 120

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
  { long: 'no-utp', value: false },
  { long: 'utp-only', value: false },
  { long: 'progress', value: false },
  { long: 'quiet', short: 'q', value: false },
  { long: 'json', value: false },
  { long: 'no-webseeds', value: false },
  { long: 'max-download-rate', value: true },
  { long: 'max-upload-rate', value: true },
  { long: 'seed-ratio', value: true },
  { long: 'seed-time', value: true },
  { long: 'help', short: 'h', value: false }
]

/** Bytes per second at most; a rate below one block a second would never move a block in time. */
const MIN_RATE = 16 * 1024
const MAX_RATE = 1024 ** 4

/** `--max-download-rate SIZE` / `--max-upload-rate SIZE`: bytes per second (`500K`, `2M`). */
export function rateOption (args: ParsedArgs, which: 'download' | 'upload'): number | undefined {
  return optionSize(args, `max-${which}-rate`, MIN_RATE, MAX_RATE)
}

/** `--seed-ratio R` and `--seed-time S`: when seeding stops by itself (undefined: at Ctrl-C). */
export function seedStopOptions (args: ParsedArgs): { seedRatio?: number, seedTimeMs?: number } {
  const out: { seedRatio?: number, seedTimeMs?: number } = {}
  const ratio = optionString(args, 'seed-ratio')
  if (ratio !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(ratio)) throw new UsageError(`--seed-ratio must be a number like 1 or 2.5 (uploaded / size), got "${ratio}"`)
    out.seedRatio = Number(ratio)
  }
  const ms = optionSeconds(args, 'seed-time', 1, 10 * 365 * 86400)
  if (ms !== undefined) out.seedTimeMs = ms
  return out
}

/** The options every swarm command shares. */
/** `--peer host:port[,host:port...]`, repeatable: every one given counts, not only the last. */
export function peersOption (args: ParsedArgs): PeerAddress[] {
  return optionList(args, 'peer').flatMap(list => list.split(',').map(parseAddress))
}

export function swarmOptions (args: ParsedArgs, meta?: Metainfo, io?: CliIO): SwarmCliOptions {
  const peers = peersOption(args)
  const trackers = !args.options.has('no-trackers')
  const webSeeds = !args.options.has('no-webseeds')
  const hasWebSeeds = webSeeds && meta !== undefined && usableWebSeeds(meta.urlList).length > 0
  return {
    maxPeers: optionInt(args, 'max-peers', 1, 1000),
    port: optionInt(args, 'port', 1, 65535),
    peers,
    trackers,
    stallTimeoutMs: optionSeconds(args, 'stall-timeout', 1, 86400) ?? DEFAULT_STALL_TIMEOUT_S * 1000,
    encryption: encryptionOption(args),
    ...(rateOption(args, 'download') === undefined ? {} : { maxDownloadRate: rateOption(args, 'download') }),
    ...(rateOption(args, 'upload') === undefined ? {} : { maxUploadRate: rateOption(args, 'upload') }),
    ...utpOptions(args, io),
    webSeeds,
    // Needed: nothing else would find a peer (no tracker to ask, none given, no web seed).
    ...dhtOptions(args, peers.length === 0 && !hasWebSeeds && (meta === undefined || meta.announce.length === 0 || !trackers))
  }
}

export interface SwarmCliOptions extends DhtOptions, UtpOptions {
  readonly maxPeers?: number
  readonly port?: number
  readonly peers: PeerAddress[]
  readonly trackers: boolean
  /** BEP 19: use the torrent's url-list (and a magnet's ws=); --no-webseeds turns them off. */
  readonly webSeeds: boolean
  readonly stallTimeoutMs: number
  /** MSE/PE, dialing and accepting (lib/crypto/README.md); default 'prefer'. */
  readonly encryption: EncryptionPolicy
  readonly maxDownloadRate?: number
  readonly maxUploadRate?: number
}

const POLICIES: readonly EncryptionPolicy[] = ['prefer', 'require', 'off']

/**
 * `--no-utp` (TCP only) / `--utp-only` (uTP only); neither: both, TCP first (lib/utp/README.md).
 * With `io`, why uTP is not used although wanted (utp-native missing) is said once on stderr.
 */
export function utpOptions (args: ParsedArgs, io?: CliIO): UtpOptions {
  const noUtp = args.options.has('no-utp')
  const utpOnly = args.options.has('utp-only')
  if (noUtp && utpOnly) throw new UsageError('--no-utp and --utp-only exclude each other')
  let warned = false
  return {
    utp: noUtp ? 'off' : utpOnly ? 'only' : 'prefer',
    ...(io === undefined
      ? {}
      : { onUtpWarning: (m: string) => { if (!warned && !args.options.has('quiet')) io.stderr.write(`bt-stream: ${m}\n`); warned = true } })
  }
}

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
  // Repeatable, as --peer: every one given counts.
  const given = optionList(args, 'dht-bootstrap')
  const bootstrap = given.length === 0 ? undefined : given.flatMap(list => list.split(',')).filter(s => s !== '')
  return {
    dht: args.options.has('no-dht') ? false : needed || bootstrap !== undefined ? true : 'fallback',
    dhtBootstrap: bootstrap,
    dhtPort: optionInt(args, 'dht-port', 1, 65535)
  }
}

/** Progress goes to stderr when it is a terminal, or with --progress; never with --quiet or --json. */
export function progressLine (args: ParsedArgs, io: CliIO): { show: boolean, line: ProgressLine, tty: boolean } {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true
  const show = !args.options.has('quiet') && !args.options.has('json') && (tty || args.options.has('progress'))
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
 * The swarm options a magnet's metadata fetch runs with. Its BitTorrent port is read from
 * `peerPortOption`: `--port` for the commands whose `--port` is that port, `--peer-port` for
 * `serve`, whose `--port` is the HTTP server's and must never reach a peer or a tracker.
 */
export function magnetFetchOptions (args: ParsedArgs, io: CliIO | undefined, peerPortOption: 'port' | 'peer-port' = 'port'): SwarmCliOptions {
  return { ...swarmOptions(args, undefined, io), port: optionInt(args, peerPortOption, 1, 65535) }
}

/**
 * A .torrent from a file or stdin, or a magnet's metadata fetched from its peers (BEP 9), with
 * a progress note on stderr while it waits. `peerPortOption`: see magnetFetchOptions.
 */
export async function loadMeta (source: string, io: CliIO, args: ParsedArgs, peerPortOption: 'port' | 'peer-port' = 'port'): Promise<LoadedMeta> {
  if (!/^magnet:/i.test(source)) return { meta: parseTorrent(await readInput(source, io.stdin, undefined, io.signal)), peers: [] }
  const magnet = parseMagnet(source)
  const opts = magnetFetchOptions(args, io, peerPortOption)
  const show = progressLine(args, io).show
  if (show) io.stderr.write(`bt-stream: fetching the metadata of ${magnet.name ?? magnet.infoHashHex} from peers ...\n`)
  const got = await fetchMagnetMetadata(magnet, {
    ...opts,
    timeoutMs: optionSeconds(args, 'metadata-timeout', 1, 3600) ?? DEFAULT_METADATA_TIMEOUT_S * 1000,
    signal: io.signal
  })
  return { meta: got.meta, peers: got.peers, selectOnly: magnet.selectOnly }
}
