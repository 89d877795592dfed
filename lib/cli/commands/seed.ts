import { seedFromDisk } from '../../session/seed.js'
import type { BitField } from '../../wire/bitfield.js'
import { UsageError } from '../../util/errors.js'
import { humanSize } from '../../util/format.js'
import { optionInt, optionString, parseArgs } from '../args.js'
import type { CliIO, Command } from '../io.js'
import { dhtOptions, encryptionOption, loadMeta, peersOption, progressLine } from '../swarm-args.js'

const HELP = `usage: bt-stream seed <file.torrent> <path> [options]

Checks the data at <path> (a single-file torrent's file, or the directory holding a multi-file
torrent's tree), then seeds every piece that verifies until stopped (Ctrl-C).

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
  --progress, --quiet, --help
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
    { long: 'progress', value: false },
    { long: 'quiet', short: 'q', value: false },
    { long: 'help', short: 'h', value: false }
  ])
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  const [source, path] = args.positionals
  if (source === undefined || path === undefined || args.positionals.length !== 2) throw new UsageError('seed takes a torrent and the path of its data')
  const { meta } = await loadMeta(source, io, args)
  const session = await runSeed(meta, path, args, io)
  await session.closed
  return 0
}

/** Seeds until `io.signal` aborts; shared with `-o PATH --seed`. */
export async function runSeed (meta: Parameters<typeof seedFromDisk>[0], path: string, args: ReturnType<typeof parseArgs>, io: CliIO, have?: BitField): Promise<{ closed: Promise<void> }> {
  const { show, line } = progressLine(args, io)
  const session = await seedFromDisk(meta, path, {
    port: optionInt(args, 'port', 1, 65535),
    host: optionString(args, 'host'),
    maxPeers: optionInt(args, 'max-peers', 1, 1000),
    trackers: !args.options.has('no-trackers'),
    peers: peersOption(args),
    encryption: encryptionOption(args),
    // Seeding announces to the DHT unless told not to (private torrents never).
    ...dhtOptions(args, true),
    signal: io.signal,
    have,
    onCheck: p => { if (show && (p.checked === p.total || p.checked % 64 === 0)) line.drawText(`checking ${path}: ${p.checked}/${p.total} pieces, ${p.verified} good`) }
  })
  if (show) line.done()
  const pieces = session.have.count()
  if (!args.options.has('quiet')) {
    io.stderr.write(`bt-stream: seeding "${meta.name}" (${pieces}/${meta.pieceCount} pieces) on port ${session.port}; Ctrl-C stops\n`)
  }
  const timer = show ? setInterval(() => line.drawText(`uploaded ${humanSize(session.seeder.uploaded)} to ${session.seeder.peerCount} peers`), 1000) : undefined
  const closed = new Promise<void>(resolve => {
    const stop = (): void => {
      if (timer !== undefined) clearInterval(timer)
      if (show) line.done()
      session.close().then(resolve, resolve)
    }
    if (io.signal.aborted) stop()
    else io.signal.addEventListener('abort', stop, { once: true })
  })
  return { closed }
}
