import { pipeline } from 'node:stream/promises'
import { chunker } from '../../output/chunker.js'
import { lendingWriter } from '../../output/lending-writer.js'
import { progressMeter } from '../../output/progress-meter.js'
import { tarRange, TarOutput } from '../../output/tar-output.js'
import { download, type DownloadOptions, type DownloadStream } from '../../session/download.js'
import { selectFiles } from '../../session/selection.js'
import { DownloadError, UsageError } from '../../util/errors.js'
import { optionList, optionSize, optionString, parseArgs, type OptionSpec, type ParsedArgs } from '../args.js'
import { toDisk } from './download-disk.js'
import { DOWNLOAD_OPTIONS_HELP } from '../download-help.js'
import { checkFileOption } from '../file-option.js'
import { unusedPort } from '../free-port.js'
import type { CliIO, Command } from '../io.js'
import { loadMeta, rateOption, seedStopOptions, swarmOptions, SWARM_OPTIONS, type LoadedMeta } from '../swarm-args.js'
import { createReporter } from '../reporter.js'
import { stdoutChunkBytes } from '../stdout-chunk.js'

const HELP = `usage: bt-stream <file.torrent | https://.../x.torrent | magnet:?... | -> [options] > out
       bt-stream <file.torrent | URL | magnet:?...> -o PATH [options]

Downloads the torrent from its swarm and writes it to stdout, in order, while it downloads.
Every piece is SHA-1 verified before any of its bytes is written. A .torrent may be given by
http(s) URL (fetched first: at most 64 MiB, within 30 s).

options:
${DOWNLOAD_OPTIONS_HELP}
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
  // Checked before the metadata is fetched: a typo costs no swarm.
  rateOption(args, 'download')
  rateOption(args, 'upload')
  seedStopOptions(args)
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
  // A tar on stdout carries every file: only a plain stdout download needs one chosen.
  checkFileOption(loaded.meta, sels, output === undefined && !args.options.has('tar'))
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
  // Nothing listens in this mode: announce a port that no local client uses (lib/cli/free-port.ts).
  const port = common.port ?? (common.trackers && meta.announce.length > 0 ? await unusedPort() : undefined)
  // Plain stdout writes each chunk and knows when it is out: it borrows piece memory (no copies).
  // The tar packer keeps chunks across headers, so it gets copies.
  const stream = download(meta, {
    ...extra,
    ...common,
    port,
    peers: [...common.peers, ...peers],
    lendBuffers: wrap === undefined,
    // The tar packer re-cuts its output with the chunker: its input's chunk size does not reach stdout.
    ...(wrap === undefined ? { chunkBytes: stdoutChunkBytes(io.stdout) } : {})
  })
  const report = createReporter(args, io)
  // What reached stdout. Plain: the bytes the lending writer gave back, each once its write
  // completed. A through2 meter in that pipeline cost 2-6% of the CPU per GiB (16 000 chunks
  // through one more stream; means and medians of 2 x 8 interleaved rounds); the tar path keeps
  // it, having no such count.
  const tar = wrap === undefined ? undefined : { wrap, meter: progressMeter() }
  let written = 0
  const delivered = (): number => tar === undefined ? written : tar.meter.bytes
  const total = stream.selection.end - stream.selection.start
  stream.on('tracker-error', f => report.trackerError(f))
  stream.announcer?.on('announce', info => report.announce(info))
  stream.on('peer-banned', (addr, reason) => report.peerBanned(addr, reason))
  // The swarm closes its peers once the last piece is in: the last line shows those we had then.
  let peersAtLastPiece = 0
  stream.swarm.on('piece', () => { peersAtLastPiece = stream.swarm.stats.peers })
  const draw = (): void => {
    const p = stream.progress
    report.progress({ delivered: delivered(), total, rate: p.rate, peers: stream.swarm.picker.complete ? peersAtLastPiece : p.peers, downloaded: p.verified })
  }
  const timer = report.active ? setInterval(draw, report.intervalMs) : undefined
  const onAbort = (): void => { stream.destroy(new DownloadError(String((io.signal.reason as Error | undefined)?.message ?? 'stopped'))) }
  io.signal.addEventListener('abort', onAbort, { once: true })
  const summary = (): Record<string, unknown> => ({ bytes: delivered(), total, downloaded: stream.progress.verified, wasted: stream.progress.wasted })
  try {
    // The merger already cuts lent pieces to the chunk size stdout takes best (stdout-chunk.ts).
    if (tar === undefined) await pipeline(stream, lendingWriter(io.stdout, n => { written += n; stream.giveBack(n) }))
    // A streamx Duplex runs in Node's pipeline (it has pipe, write, end, destroy and the events);
    // only @types/node's ReadWriteStream asks for legacy methods (unpipe, wrap) it never calls.
    else await pipeline(stream, tar.meter, tar.wrap(stream) as unknown as NodeJS.ReadWriteStream, chunker(), io.stdout, { end: false })
    if (report.active) draw()
    report.done()
    report.summary({ ok: true, ...summary() })
    return 0
  } catch (err) {
    report.done()
    // A reader that has seen enough (`| head -c`) is not a failure.
    if (isClosedPipe(err) || isClosedPipe(io.signal.reason)) {
      report.summary({ ok: true, closedByReader: true, ...summary() })
      return 0
    }
    throw report.failed(err, summary())
  } finally {
    if (timer !== undefined) clearInterval(timer)
    report.done()
    io.signal.removeEventListener('abort', onAbort)
    await stream.stopped
  }
}

function isClosedPipe (err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE'
}
