import { writeFile } from 'node:fs/promises'
import { createTorrent, isValidPieceLength, MIN_AUTO_PIECE_LENGTH } from '../../metainfo/create.js'
import { toStorageError } from '../../storage/storage-error.js'
import { UsageError } from '../../util/errors.js'
import { humanSize } from '../../util/format.js'
import { optionList, optionString, parseArgs } from '../args.js'
import type { Command } from '../io.js'

const HELP = `usage: bt-stream create <file or directory> -o <out.torrent | -> [options]

Makes a v1 .torrent (BEP 3), or with --v2 / --hybrid a BEP 52 one (the same info hashes as
libtorrent 2.0 makes for the same files and piece length). A directory's files are sorted by
path, hidden files included.

options:
  -o, --output FILE        where to write the .torrent; - writes it to stdout
  -t, --tracker URL        announce URL; repeat for more (each becomes its own BEP 12 tier)
  -w, --web-seed URL       BEP 19 web seed; repeatable
  -l, --piece-length N     piece length in bytes (a power of two, at least 16K; K and M suffixes
                           accepted); default: aim for 1000-2000 pieces, 16 KiB to 16 MiB
  -p, --private            BEP 27 private torrent (trackers only)
  -c, --comment TEXT       comment
      --v2                 BEP 52 v2-only torrent (file tree, piece layers; SHA-256 merkle trees)
      --hybrid             BEP 52 hybrid torrent: v1 and v2 in one, for both swarms (BEP 47
                           padding files align the v1 files to pieces)
      --no-date            leave out the creation date (reproducible output)
      --json               print the summary as JSON
  -h, --help               this text
`

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, [
    { long: 'output', short: 'o', value: true },
    { long: 'tracker', short: 't', value: true },
    { long: 'web-seed', short: 'w', value: true },
    { long: 'piece-length', short: 'l', value: true },
    { long: 'private', short: 'p', value: false },
    { long: 'comment', short: 'c', value: true },
    { long: 'no-date', value: false },
    { long: 'v2', value: false },
    { long: 'hybrid', value: false },
    { long: 'json', value: false },
    { long: 'help', short: 'h', value: false }
  ])
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  if (args.positionals.length !== 1) throw new UsageError('create takes exactly one file or directory')
  const output = optionString(args, 'output')
  if (output === undefined) throw new UsageError('create needs -o <out.torrent> (or -o - for stdout)')
  if (args.options.has('v2') && args.options.has('hybrid')) throw new UsageError('--v2 and --hybrid exclude each other (a hybrid torrent is v2 too)')
  const version = args.options.has('v2') ? 'v2' : args.options.has('hybrid') ? 'hybrid' : 'v1'
  const pieceLengthText = optionString(args, 'piece-length')
  const pieceLength = pieceLengthText === undefined ? undefined : parseSize(pieceLengthText)
  for (const url of [...optionList(args, 'tracker'), ...optionList(args, 'web-seed')]) {
    if (!/^(https?|udp|wss?):\/\/./i.test(url)) throw new UsageError(`not a tracker or web seed URL: "${url}"`)
  }

  let created
  try {
    created = await createTorrent(args.positionals[0] as string, {
      trackers: optionList(args, 'tracker'),
      webSeeds: optionList(args, 'web-seed'),
      pieceLength,
      private: args.options.has('private'),
      comment: optionString(args, 'comment'),
      creationDate: args.options.has('no-date') ? null : undefined,
      version,
      signal: io.signal
    })
  } catch (err) {
    // ^C while hashing: nothing was written; the process exits 130 on its own.
    if (io.signal.aborted) return 1
    throw err
  }
  const { torrent, meta } = created
  if (output === '-') {
    io.stdout.write(torrent)
    return 0
  }
  try {
    await writeFile(output, torrent)
  } catch (err) {
    throw toStorageError('write', output, err)
  }
  const files = meta.files.filter(f => !f.padding).length
  if (args.options.has('json')) {
    const v2 = meta.infoHashV2Hex === undefined ? {} : { version: meta.version, infoHashV2: meta.infoHashV2Hex }
    io.stdout.write(JSON.stringify({ output, infoHash: meta.infoHashHex, ...v2, name: meta.name, length: meta.length, pieceLength: meta.pieceLength, pieceCount: meta.pieceCount, files }, null, 2) + '\n')
  } else {
    const hashes = meta.infoHashV2Hex === undefined ? meta.infoHashHex : meta.version === 'v2' ? `v2 ${meta.infoHashV2Hex}` : `${meta.infoHashHex} v2 ${meta.infoHashV2Hex}`
    io.stdout.write(`${output}: ${hashes} ${JSON.stringify(meta.name)}, ${files} file${files === 1 ? '' : 's'}, ` +
      `${humanSize(meta.length)} in ${meta.pieceCount} pieces of ${humanSize(meta.pieceLength)}\n`)
  }
  return 0
}

/** `262144`, `256K`, `256KiB`, `1M`: a power of two of at least 16 KiB. */
function parseSize (text: string): number {
  const m = /^(\d+)\s*(k|kib|m|mib)?$/i.exec(text)
  if (m === null) throw new UsageError(`--piece-length must be a number of bytes (K and M suffixes allowed), got "${text}"`)
  const unit = (m[2] ?? '').toLowerCase()
  const n = Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1)
  if (!isValidPieceLength(n)) throw new UsageError(`--piece-length must be a power of two of at least ${MIN_AUTO_PIECE_LENGTH / 1024}K, got ${text}`)
  return n
}
