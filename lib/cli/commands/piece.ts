import { UsageError } from '../../util/errors.js'
import { parseArgs } from '../args.js'
import type { Command } from '../io.js'
import { loadMeta, SWARM_OPTIONS } from '../swarm-args.js'
import { toStdout } from './download.js'

const HELP = `usage: bt-stream piece <file.torrent | -> <index> [options] > out

Fetches one piece from the swarm, checks its SHA-1, and writes it to stdout: for debugging a swarm
(which peers answer, whether their data is good). Exit 1 when no peer delivers a good copy.

options:
  --peer LIST        peers to dial: host:port[,host:port...]
  --no-trackers      do not ask the torrent's trackers (use --peer)
  --max-peers N      open connections at most (default 50)
  --port N           the port announced to trackers
  --stall-timeout S  give up after S seconds with no peer and no data (default 60)
  --progress, --quiet, --json (progress as JSON lines on stderr), --help
`

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, SWARM_OPTIONS)
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  const [source, index] = args.positionals
  if (source === undefined || index === undefined || args.positionals.length !== 2) throw new UsageError('piece takes a torrent and a piece index')
  if (!/^\d+$/.test(index)) throw new UsageError(`piece index must be a whole number, got "${index}"`)
  return await toStdout(await loadMeta(source, io, args), args, io, { piece: Number(index) })
}
