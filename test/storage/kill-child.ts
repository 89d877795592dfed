/**
 * Test-only child for kill-resume.test.ts: writes the missing pieces of a torrent through
 * checkExisting -> FileStorage -> DiskSink, in a seeded random order, printing each piece index
 * once it is written (after a `start <missing pieces>` line), so the parent can SIGKILL it at
 * chosen points. Pieces come from a file
 * holding the torrent's whole byte stream, so no engine is needed.
 *
 * usage: node kill-child.js <x.torrent> <payload.bin> <out> <seed> [file,file,...]
 * Without arguments (node --test runs every file under test/) it does nothing.
 */
import { readFileSync } from 'node:fs'
import { pieceLengthAt } from '../../lib/metainfo/geometry.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { checkExisting } from '../../lib/storage/check-existing.js'
import { createDiskSink } from '../../lib/storage/disk-sink.js'
import { FileStorage } from '../../lib/storage/file-storage.js'
import { shuffled } from './helpers.js'

async function run (args: string[]): Promise<void> {
  const [torrentPath, payloadPath, out, seedText, selectionText] = args as [string, string, string, string, string | undefined]
  const meta = parseTorrent(readFileSync(torrentPath))
  const payload = readFileSync(payloadPath)
  const selection = selectionText === undefined ? undefined : selectionText.split(',').map(Number)
  const have = await checkExisting(meta, out, selection)
  const storage = await FileStorage.open(meta, out, { selection, have })
  const sink = createDiskSink(storage, { maxInFlight: 4, highWaterMark: 4 * meta.pieceLength })
  const finished = new Promise<void>((resolve, reject) => {
    sink.on('finish', resolve)
    sink.on('error', reject)
  })
  sink.on('written', (i: number) => process.stdout.write(`${i}\n`))
  const missing = [...storage.layout.wanted.indexes()].filter(i => !have.has(i)).length
  process.stdout.write(`start ${missing}\n`)
  for (const index of shuffled(meta.pieceCount, Number(seedText))) {
    if (!storage.layout.wanted.has(index) || have.has(index)) continue
    const start = index * meta.pieceLength
    if (!sink.write({ index, data: payload.subarray(start, start + pieceLengthAt(meta, index)) })) {
      await new Promise<void>(resolve => sink.once('drain', () => resolve()))
    }
  }
  sink.end()
  await finished
  process.stdout.write(`done ${have.count()}\n`)
}

if (process.argv.length > 2) {
  run(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`kill-child: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  })
}
