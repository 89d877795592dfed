import { seedFromDisk } from '../../session/seed.js'
import { UsageError } from '../../util/errors.js'
import { optionInt, optionString, parseArgs } from '../args.js'
import type { CliIO, Command } from '../io.js'
import { createReporter, type Reporter } from '../reporter.js'
import { dhtOptions, encryptionOption, loadMeta, peersOption, rateOption, seedStopOptions, utpOptions } from '../swarm-args.js'

const HELP = `usage: bt-stream seed <file.torrent> <path> [options]

Checks the data at <path>, then seeds every piece that verifies until stopped (Ctrl-C).
<path> is the payload itself (the file, or the torrent's NAME directory: what
\`bt-stream create\` took, under any name) or the directory that holds it (DIR/NAME).

options:
  --port N        TCP port to accept peers on (default: any free port; printed)
  --host ADDR     address to bind (default: every interface)
  --max-peers N   open connections at most (default 50)
  --peer LIST     peers to dial: host:port[,host:port...] (besides those the trackers return)
  --encryption M  prefer (default: both kinds accepted, plaintext dialed first) | require
                  (MSE/PE only) | off (plaintext only)
  --no-trackers   do not announce to the torrent's trackers
  --no-dht        do not announce to the DHT (BEP 5); --dht-bootstrap HOST:PORT,... to choose
                  the nodes to join through
  --max-upload-rate R  bytes per second to all peers together (500K, 2M); default no limit
  --seed-ratio R  stop once uploaded / size reaches R (1, 2.5); default: until Ctrl-C
  --seed-time S   stop after S seconds
  --no-utp        TCP only (default: uTP too, BEP 29, on the same port number over UDP)
  --utp-only      dial peers over uTP only (inbound TCP and uTP are both accepted)
  --progress      show the upload line (up, ratio, peers) even when stderr is not a terminal
  --json          progress as JSON lines on stderr (see bt-stream --help)
  --quiet, --help
`

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, [
    { long: 'port', value: true },
    { long: 'host', value: true },
    { long: 'max-peers', value: true },
    { long: 'no-trackers', value: false },
    { long: 'no-dht', value: false },
    { long: 'dht-bootstrap', value: true },
    { long: 'dht-port', value: true },
    { long: 'metadata-timeout', value: true },
    { long: 'peer', value: true },
    { long: 'encryption', value: true },
    { long: 'no-utp', value: false },
    { long: 'max-upload-rate', value: true },
    { long: 'seed-ratio', value: true },
    { long: 'seed-time', value: true },
    { long: 'utp-only', value: false },
    { long: 'progress', value: false },
    { long: 'quiet', short: 'q', value: false },
    { long: 'json', value: false },
    { long: 'help', short: 'h', value: false }
  ])
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  // Checked before anything is read: a typo costs no hashing pass.
  rateOption(args, 'upload')
  seedStopOptions(args)
  const [source, path] = args.positionals
  if (source === undefined || path === undefined || args.positionals.length !== 2) throw new UsageError('seed takes a torrent and the path of its data')
  const { meta } = await loadMeta(source, io, args)
  const session = await runSeed(meta, path, args, io)
  await session.closed
  return 0
}

/**
 * What the seeding phase reports on and stops: a SeedSession (`bt-stream seed`), or the swarm of
 * a download that goes on as a seed (`-o PATH --seed`: the same connections, port and trackers).
 */
export interface SeedingEngine {
  readonly port: number | undefined
  /** Pieces we serve. */
  readonly pieces: number
  /** Piece bytes sent since the command started (a download's included). */
  uploaded (): number
  peers (): number
  /** Stop seeding (bounded: trackers told `stopped`). */
  close (): Promise<void>
  /** `--seed-ratio` / `--seed-time` reached: the engine closed itself (lib/session/seed-stop.ts). */
  readonly finished: Promise<'ratio' | 'time'>
}

/** Seeds `meta` from `path` until `io.signal` aborts (or a seed limit is reached). */
export async function runSeed (meta: Parameters<typeof seedFromDisk>[0], path: string, args: ReturnType<typeof parseArgs>, io: CliIO): Promise<{ closed: Promise<void> }> {
  const report = createReporter(args, io, 'always')
  const maxUploadRate = rateOption(args, 'upload')
  const session = await seedFromDisk(meta, path, {
    ...seedStopOptions(args),
    ...(maxUploadRate === undefined ? {} : { maxUploadRate }),
    port: optionInt(args, 'port', 1, 65535),
    host: optionString(args, 'host'),
    maxPeers: optionInt(args, 'max-peers', 1, 1000),
    trackers: !args.options.has('no-trackers'),
    peers: peersOption(args),
    encryption: encryptionOption(args),
    // Seeding announces to the DHT unless told not to (private torrents never).
    ...dhtOptions(args, true),
    ...utpOptions(args, io),
    signal: io.signal,
    onTrackerError: f => report.trackerError(f),
    onAnnounce: info => report.announce(info),
    onCheck: p => { if (p.checked === p.total || p.checked % 64 === 0) report.check(`checking ${path}: ${p.checked}/${p.total} pieces, ${p.verified} good`, p) }
  }).catch((err: unknown) => { throw report.failed(err, { output: path }) })
  return seedingPhase(meta, path, args, io, report, {
    port: session.port,
    pieces: session.have.count(),
    uploaded: () => session.seeder.uploaded,
    peers: () => session.seeder.peerCount,
    close: session.close,
    finished: session.finished
  })
}

/**
 * The seeding phase as the user sees it: where we listen, the seeding line (up, ratio, peers),
 * and the summary once it stops (Ctrl-C, or a seed limit). `downloaded`: what a download before
 * it fetched, for the ratio.
 */
export function seedingPhase (meta: Parameters<typeof seedFromDisk>[0], path: string, args: ReturnType<typeof parseArgs>, io: CliIO, report: Reporter, engine: SeedingEngine, downloaded = 0): { closed: Promise<void> } {
  const stops = seedStopOptions(args)
  report.done()
  report.message(`seeding "${meta.name}" (${engine.pieces}/${meta.pieceCount} pieces) on port ${engine.port ?? 'none'}; Ctrl-C stops`,
    { event: 'listening', phase: 'seed', port: engine.port, pieces: engine.pieces, pieceCount: meta.pieceCount }, true)
  const draw = (): void => { report.seeding({ uploaded: engine.uploaded(), peers: engine.peers(), downloaded, size: meta.length }) }
  const timer = report.active ? setInterval(draw, Math.max(1000, report.intervalMs)) : undefined
  const closed = new Promise<void>(resolve => {
    const stop = (): void => {
      if (timer !== undefined) clearInterval(timer)
      report.done()
      engine.close().then(() => {
        report.summary({ ok: true, output: path, downloaded, uploaded: engine.uploaded() })
        resolve()
      }, resolve)
    }
    if (io.signal.aborted) stop()
    else io.signal.addEventListener('abort', stop, { once: true })
    // --seed-ratio / --seed-time: the engine closed itself.
    void engine.finished.then((why) => {
      io.signal.removeEventListener('abort', stop)
      if (timer !== undefined) clearInterval(timer)
      report.done()
      report.message(`seeding stopped: ${why === 'ratio' ? `ratio ${stops.seedRatio ?? 0} reached` : 'seed time reached'}`, { event: 'seed-stopped', why }, true)
      report.summary({ ok: true, output: path, downloaded, uploaded: engine.uploaded() })
      resolve()
    })
  })
  return { closed }
}
