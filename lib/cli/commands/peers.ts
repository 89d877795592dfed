import { generatePeerId } from '../../wire/peer-id.js'
import { loadMeta } from '../swarm-args.js'
import type { Metainfo } from '../../metainfo/types.js'
import { Announcer } from '../../tracker/announcer.js'
import { formatPeer, type PeerAddress } from '../../tracker/compact.js'
import type { Tracker } from '../../tracker/types.js'
import { TrackerError, UsageError } from '../../util/errors.js'
import { optionInt, optionSeconds, parseArgs, type OptionSpec } from '../args.js'
import type { CliIO, Command } from '../io.js'
import { unusedPort } from '../free-port.js'

const OPTIONS: OptionSpec[] = [
  { long: 'help', short: 'h', value: false },
  { long: 'json', value: false },
  { long: 'timeout', short: 't', value: true },
  { long: 'port', short: 'p', value: true }
]

const HELP = `usage: bt-stream peers [options] <torrent>

Announce to the torrent's trackers once and list the peers they return, one ip:port a line
(IPv6 as [addr]:port). Trackers want a port to list (BEP 3): when done, each is told \`stopped\`,
so no phantom peer stays behind; the listing may include that entry for us.

options:
  -t, --timeout <s>   give up on trackers that have not answered after this long (default 20)
  -p, --port <n>      the port to announce as ours (default: one free on this machine, so no
                      local client's entry on the tracker is touched)
      --json          print one JSON document instead
  -h, --help          this help
`

const DEFAULT_TIMEOUT_S = 20

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, OPTIONS)
  if (args.options.has('help')) {
    io.stdout.write(HELP)
    return 0
  }
  const [path, ...extra] = args.positionals
  if (path === undefined) throw new UsageError('peers needs a torrent file')
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0] as string}"`)
  const timeoutMs = optionSeconds(args, 'timeout', 1, 3600) ?? DEFAULT_TIMEOUT_S * 1000
  const given = optionInt(args, 'port', 1, 65535)
  if (/^magnet:/i.test(path)) throw new UsageError('peers takes a .torrent (for a magnet: bt-stream info <magnet> --save-torrent x.torrent first)')
  const { meta } = await loadMeta(path, io, args)
  const port = given ?? await unusedPort()
  return await listPeers(meta, { timeoutMs, port, json: args.options.has('json') }, io)
}

export interface ListPeersOptions {
  readonly timeoutMs: number
  readonly port: number
  readonly json: boolean
  /** Tests inject trackers; the default builds them from the URLs. */
  readonly createTracker?: (url: string) => Tracker | string
}

/**
 * The command's core: one round of announces to every tier, peers printed as they arrive (or
 * one JSON document at the end), per-tracker failures on stderr, exit 1 if no tracker answered.
 */
export async function listPeers (meta: Pick<Metainfo, 'infoHash' | 'announce' | 'length'>, opts: ListPeersOptions, io: CliIO): Promise<number> {
  if (meta.announce.length === 0) throw new TrackerError('the torrent lists no trackers')
  // Each tracker must fit its retries inside the deadline: UDP waits base + 2·base.
  const perTrackerMs = Math.max(100, opts.timeoutMs - 100)
  const announcer = new Announcer({
    infoHash: meta.infoHash,
    peerId: generatePeerId(),
    port: opts.port,
    tiers: meta.announce,
    getStats: () => ({ uploaded: 0, downloaded: 0, left: meta.length }),
    http: { timeoutMs: perTrackerMs },
    udp: { baseTimeoutMs: Math.floor(perTrackerMs / 3), maxRetries: 1 },
    ...(opts.createTracker !== undefined ? { createTracker: opts.createTracker } : {})
  })
  const found: PeerAddress[] = []
  announcer.on('warning', w => { io.stderr.write(`bt-stream: tracker ${w.url}: ${w.message}\n`) })
  const printing = (async () => {
    for await (const peer of announcer.peers) {
      found.push(peer)
      if (!opts.json) io.stdout.write(formatPeer(peer) + '\n')
    }
  })()

  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, opts.timeoutMs) })
  const aborted = new Promise<void>(resolve => {
    if (io.signal.aborted) resolve()
    io.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  announcer.start()
  await Promise.race([announcer.settled(), deadline, aborted])
  clearTimeout(timer)
  const round = announcer.summary()
  await announcer.stop()
  await printing

  const failures = [
    ...round.failures.map(f => ({ url: f.url, error: f.error.message })),
    ...round.pending.map(url => ({ url, error: `${url}: no answer within ${opts.timeoutMs / 1000} s` }))
  ]
  if (opts.json) {
    io.stdout.write(JSON.stringify({ peers: found, answered: round.answered, failed: failures }) + '\n')
  }
  if (round.answered.length === 0) {
    if (io.signal.aborted) return 0
    throw new TrackerError(failures.length === 0 ? 'no tracker answered' : 'all trackers failed: ' + failures.map(f => f.error).join('; '))
  }
  if (!opts.json) for (const f of failures) io.stderr.write(`bt-stream: tracker ${f.error}\n`)
  return 0
}

