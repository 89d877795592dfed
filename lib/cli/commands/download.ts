import { pipeline } from 'node:stream/promises'
import { chunker } from '../../output/chunker.js'
import { progressMeter } from '../../output/progress-meter.js'
import { tarRange, TarOutput } from '../../output/tar-output.js'
import { download, type DownloadOptions, type DownloadStream } from '../../session/download.js'
import { selectFiles } from '../../session/selection.js'
import { DownloadError, UsageError } from '../../util/errors.js'
import { optionList, optionSize, optionString, parseArgs, type OptionSpec, type ParsedArgs } from '../args.js'
import { toDisk } from './download-disk.js'
import type { CliIO, Command } from '../io.js'
import { loadMeta, progressLine, swarmOptions, SWARM_OPTIONS, type LoadedMeta } from '../swarm-args.js'

const HELP = `usage: bt-stream <file.torrent | magnet:?... | -> [options] > out

Downloads the torrent from its swarm and writes it to stdout, in order, while it downloads.
Every piece is SHA-1 verified before any of its bytes is written.

options:
  -o PATH            write to disk instead: a single-file torrent to PATH, a multi-file one into
                     the directory PATH; resumable (a rerun keeps every piece that verifies)
  --seed             with -o: keep seeding after the download, until Ctrl-C
  --tar              write the torrent's files (or the --file ones) to stdout as a tar
                     archive, in torrent order, while it downloads: | tar x
  --file SEL         one file of a multi-file torrent: its index or path (see bt-stream info);
                     with -o it may be given more than once
  --max-peers N      open connections at most (default 50)
  --window SIZE      bytes held in memory ahead of stdout (default 16M)
  --port N           the port announced to trackers; with -o also the port peers may dial us
                     on while we download and upload (default: any free port)
  --host ADDR        with -o: the address to accept peers on (default: every interface)
  --peer LIST        extra peers to dial: host:port[,host:port...]
  --no-trackers      do not ask the torrent's trackers (use --peer)
  --no-dht           never ask the DHT (BEP 5); it is asked for magnets and torrents without
                     trackers, and when every tracker failed (never for private torrents)
  --dht-bootstrap L  DHT nodes to join through: host:port[,host:port...] (default: public routers)
  --dht-port N       UDP port of our DHT node
  --metadata-timeout S  a magnet's metadata must arrive within S seconds (default 120)
  --stall-timeout S  give up after S seconds with no peer and no data (default 60)
  --no-utp           TCP only: never dial or accept uTP (BEP 29)
  --utp-only         uTP only: never dial TCP (peers that speak only uTP); default: both,
                     TCP first, uTP when TCP is refused or slow (needs the optional utp-native)
  --progress         print progress on stderr even when it is not a terminal
  --quiet            no progress line
  --help             this text
`

const OPTIONS: OptionSpec[] = [
  ...SWARM_OPTIONS,
  { long: 'file', value: true },
  { long: 'window', value: true },
  { long: 'output', short: 'o', value: true },
  { long: 'seed', value: false },
  { long: 'tar', value: false },
  { long: 'host', value: true }
]

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, OPTIONS)
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  if (args.positionals.length !== 1) throw new UsageError('give exactly one .torrent file, magnet URI or -')
  const output = optionString(args, 'output')
  if (args.options.has('seed') && output === undefined) throw new UsageError('--seed needs -o PATH: seeding serves the data from disk')
  if (args.options.has('host') && output === undefined) throw new UsageError('--host needs -o PATH: only a download to disk accepts peers')
  if (output === undefined && (io.stdout as { isTTY?: boolean }).isTTY === true) {
    throw new UsageError('stdout is a terminal: redirect it (> out, | tar x) or write to disk with -o PATH')
  }
  const fileSels = optionList(args, 'file')
  if (args.options.has('tar') && output !== undefined) throw new UsageError('--tar writes to stdout: drop -o, or drop --tar to write files to disk')
  if (output === undefined && fileSels.length > 1 && !args.options.has('tar')) throw new UsageError('stdout carries one file: give --file once (or use -o DIR for several)')
  const loaded = await loadMeta(args.positionals[0] as string, io, args)
  // BEP 53: a magnet's so= selects files as --file does; --file wins.
  const sels = fileSels.length > 0 ? fileSels : (loaded.selectOnly ?? []).map(String)
  if (output !== undefined) return await toDisk(loaded, output, sels, args, io)
  if (args.options.has('tar')) return await toTar(loaded, sels, args, io)
  if (sels.length > 1) throw new UsageError(`the magnet selects ${sels.length} files (so=); stdout carries one: give --file, or use -o DIR`)
  const fileOpt = sels[0]
  return await toStdout(loaded, args, io, {
    file: fileOpt === undefined ? undefined : /^\d+$/.test(fileOpt) ? Number(fileOpt) : fileOpt,
    windowBytes: optionSize(args, 'window', 1024 * 1024, 4 * 1024 ** 3)
  })
}

/** `--tar`: the chosen files (all by default) as a tar archive on stdout (lib/output/tar-output.ts). */
async function toTar (loaded: LoadedMeta, sels: readonly string[], args: ParsedArgs, io: CliIO): Promise<number> {
  const files = selectFiles(loaded.meta, sels)
  const range = tarRange(loaded.meta, files)
  const windowBytes = optionSize(args, 'window', 1024 * 1024, 4 * 1024 ** 3)
  return await toStdout(loaded, args, io, { range, windowBytes }, () => new TarOutput(loaded.meta, { ...range, files }))
}

/**
 * Runs a download of `meta` (what `extra` selects) into stdout, with the swarm options in `args`;
 * `wrap` makes a stream the bytes pass through on the way (the tar packer).
 */
export async function toStdout ({ meta, peers }: LoadedMeta, args: ParsedArgs, io: CliIO, extra: DownloadOptions, wrap?: (stream: DownloadStream) => TarOutput): Promise<number> {
  const common = swarmOptions(args, meta, io)
  const stream = download(meta, { ...extra, ...common, peers: [...common.peers, ...peers] })
  const { show, line, tty } = progressLine(args, io)
  const meter = progressMeter()
  const total = stream.selection.end - stream.selection.start
  // The last line is drawn after the swarm closed: it shows the peers we had, not zero.
  let peerCount = 0
  const draw = (): void => {
    if (!stream.destroyed) peerCount = stream.progress.peers
    line.draw({ delivered: meter.bytes, total, rate: stream.progress.rate, peers: peerCount })
  }
  const timer = show ? setInterval(draw, tty ? 250 : 2000) : undefined
  const onAbort = (): void => { stream.destroy(new DownloadError(String((io.signal.reason as Error | undefined)?.message ?? 'stopped'))) }
  io.signal.addEventListener('abort', onAbort, { once: true })
  try {
    if (wrap === undefined) await pipeline(stream, meter, chunker(), io.stdout, { end: false })
    // A streamx Duplex runs in Node's pipeline (it has pipe, write, end, destroy and the events);
    // only @types/node's ReadWriteStream asks for legacy methods (unpipe, wrap) it never calls.
    else await pipeline(stream, meter, wrap(stream) as unknown as NodeJS.ReadWriteStream, chunker(), io.stdout, { end: false })
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


function isClosedPipe (err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE'
}
