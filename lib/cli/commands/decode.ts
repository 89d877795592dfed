import { bencodeToJson } from '../../bencode/to-json.js'
import { decodeBencode } from '../../bencode/decode.js'
import { UsageError } from '../../util/errors.js'
import { parseArgs } from '../args.js'
import type { Command } from '../io.js'
import { readInput } from '../read-input.js'

const HELP = `usage: bt-stream decode [file | -]

Prints any bencoded value (a .torrent, a tracker response, ...) as JSON, for jq.
Reads stdin when no file (or -) is given.
  byte strings: a JSON string when valid UTF-8, else {"hex": "..."}
  "pieces":     {"hex": ["<sha1 of piece 0>", ...]}
  integers:     JSON numbers (beyond 2^53 they lose precision)

options:
  --help    this text
`

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, [{ long: 'help', short: 'h', value: false }])
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  if (args.positionals.length > 1) throw new UsageError('decode takes at most one file (or -)')
  const bytes = await readInput(args.positionals[0] ?? '-', io.stdin)
  io.stdout.write(JSON.stringify(bencodeToJson(decodeBencode(bytes)), null, 2) + '\n')
  return 0
}
