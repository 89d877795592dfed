/**
 * The library's download, as a user of it writes one: `download(meta, { peers })` from the
 * package's entry (what `import 'bt-stream'` loads, of the bt-stream being measured), piped to stdout. The
 * swarm benchmark runs it with stdout a file on /dev/shm, beside `bt-stream > file`, to see that
 * library users get the CLI's memory bound (issue 18), not only the CLI.
 *
 *   node dist/bench/swarm/library-download.js BIN TORRENT HOST:PORT[,HOST:PORT...] > file
 *
 * BIN: that bt-stream's bin/bt-stream.js (BENCH_BT_STREAM's build is the one loaded).
 */
import { readFileSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
import type * as Lib from '../../lib/index.js'
import { packageEntry } from './package-entry.js'

const [bin, torrent, peerList] = process.argv.slice(2)
if (bin === undefined || torrent === undefined || peerList === undefined) {
  process.stderr.write('usage: library-download.js BIN TORRENT HOST:PORT[,HOST:PORT...] > file\n')
  process.exit(2)
}
const lib = await import(packageEntry(new URL('../', pathToFileURL(bin))).href) as typeof Lib
const peers = peerList.split(',').map(p => {
  const at = p.lastIndexOf(':')
  return { host: p.slice(0, at), port: Number(p.slice(at + 1)) }
})
const stream = lib.download(lib.parseTorrent(readFileSync(torrent)), { peers, trackers: false })
await pipeline(stream as unknown as NodeJS.ReadableStream, process.stdout)
await stream.stopped
