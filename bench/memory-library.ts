/**
 * The library side of bench/memory.ts: one download() into a file, in a `node` with no flags,
 * loading what a user's `import { download } from 'bt-stream'` loads (the package entry, beside
 * this build) and nothing of the bench (its seeders' webtorrent alone was ~12 MiB of RSS).
 *
 *   node dist/bench/memory-library.js pipe|lend|iterate TORRENT OUT PORT...
 *
 * pipe:    stream.pipeline(download(meta), fs.createWriteStream(OUT)) (the file borrows piece memory)
 * lend:    `lendBuffers` and a lendingWriter into the file, as the CLI does with stdout
 * iterate: `for await (const chunk of download(meta))` written to the file: a reader that could
 *          keep chunks, so it gets copies
 */
import { createWriteStream, readFileSync } from 'node:fs'
import { once } from 'node:events'
import { pipeline } from 'node:stream/promises'
import type * as Lib from '../lib/index.js'
import { packageEntry } from './swarm/package-entry.js'

const [how, torrent, out, ...ports] = process.argv.slice(2)
if (how === undefined || torrent === undefined || out === undefined || ports.length === 0) {
  process.stderr.write('usage: memory-library.js pipe|lend|iterate TORRENT OUT PORT...\n')
  process.exit(2)
}
const lib = await import(packageEntry(new URL('../../', import.meta.url)).href) as typeof Lib
const stream = lib.download(lib.parseTorrent(readFileSync(torrent)), {
  peers: ports.map(p => ({ host: '127.0.0.1', port: Number(p) })),
  trackers: false,
  webSeeds: false,
  utp: 'off',
  lendBuffers: how === 'lend'
})
const file = createWriteStream(out)
if (how === 'pipe') {
  await pipeline(stream, file)
} else if (how === 'lend') {
  await pipeline(stream, lib.lendingWriter(file, n => { stream.giveBack(n) }))
  await new Promise<void>((resolve, reject) => { file.end((err?: Error | null) => { if (err !== undefined && err !== null) reject(err); else resolve() }) })
} else {
  for await (const chunk of stream) if (!file.write(chunk)) await once(file, 'drain')
  await new Promise<void>((resolve, reject) => { file.end((err?: Error | null) => { if (err !== undefined && err !== null) reject(err); else resolve() }) })
}
await stream.stopped
