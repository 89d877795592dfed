/**
 * Test-only child for the memory-window test in download.webtorrent.test.ts: downloads a torrent
 * (peers from its tracker) with a given window and a reader slower than the swarm, and measures
 * its own process: every SAMPLE_MS a full GC, then the bytes live in ArrayBuffers (where every
 * block and piece lives). Prints one JSON line: the SHA-1 of what it read, the byte count, and
 * the live buffer bytes at start and at their peak. Run with --expose-gc.
 *
 * usage: node --expose-gc memory-child.js <x.torrent> <windowBytes>
 * Without arguments it does nothing (it is not a test).
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { download } from '../../lib/session/download.js'

/** Often enough to see a pile-up of a few pieces, rare enough that the full GCs stay cheap. */
const SAMPLE_MS = 25
/** The reader's pause after each chunk: loopback delivers far faster, so the window stays full. */
const READ_PAUSE_MS = 10

async function run (torrentPath: string, windowBytes: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  const meta = parseTorrent(readFileSync(torrentPath))
  const live = (): number => { gc(); return process.memoryUsage().arrayBuffers }
  const baseline = live()
  let peak = baseline
  const sampler = setInterval(() => { peak = Math.max(peak, live()) }, SAMPLE_MS)
  try {
    const stream = download(meta, { windowBytes, stallTimeoutMs: 30_000 })
    const hash = createHash('sha1')
    let bytes = 0
    for await (const chunk of stream) {
      hash.update(chunk as Uint8Array)
      bytes += (chunk as Uint8Array).byteLength
      await new Promise(resolve => setTimeout(resolve, READ_PAUSE_MS))
    }
    await stream.stopped
    process.stdout.write(JSON.stringify({ sha1: hash.digest('hex'), bytes, baseline, peak }) + '\n')
  } finally {
    clearInterval(sampler)
  }
}

const [torrentPath, windowText] = process.argv.slice(2)
if (torrentPath !== undefined && windowText !== undefined) {
  run(torrentPath, Number(windowText)).catch((err: unknown) => {
    process.stderr.write(`memory-child: ${String(err)}\n`)
    process.exitCode = 1
  })
}
