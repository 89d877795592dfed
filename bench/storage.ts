/**
 * Storage benchmark: a 256 MiB torrent written through DiskSink -> FileStorage in random piece
 * order (fsync and rename included), the resume check hashing it back, and `create` hashing it.
 * Printed, never asserted. `node dist/bench/storage.js [MiB] [files]`
 */
import bencode from 'bencode'
import { execFileSync } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pieceLengthAt } from '../lib/metainfo/geometry.js'
import { createTorrent } from '../lib/metainfo/create.js'
import { parseTorrent } from '../lib/metainfo/parse.js'
import type { Metainfo } from '../lib/metainfo/types.js'
import { checkExisting } from '../lib/storage/check-existing.js'
import { createDiskSink } from '../lib/storage/disk-sink.js'
import { FileStorage } from '../lib/storage/file-storage.js'
import type { Storage } from '../lib/storage/storage.js'
import { MemoryStorage } from '../lib/storage/memory-storage.js'

const MIB = 1024 * 1024
const PIECE_LENGTH = 256 * 1024

function makeMeta (payload: Uint8Array, files: number): Metainfo {
  const pieces = Buffer.alloc(Math.ceil(payload.byteLength / PIECE_LENGTH) * 20)
  for (let p = 0; p * PIECE_LENGTH < payload.byteLength; p++) {
    createHash('sha1').update(payload.subarray(p * PIECE_LENGTH, (p + 1) * PIECE_LENGTH)).digest().copy(pieces, p * 20)
  }
  const info: Record<string, unknown> = { name: 'bench', 'piece length': PIECE_LENGTH, pieces }
  if (files <= 1) info.length = payload.byteLength
  else {
    // Uneven sizes so pieces straddle files.
    const each = Math.floor(payload.byteLength / files)
    info.files = Array.from({ length: files }, (_, i) => ({ length: i === files - 1 ? payload.byteLength - each * (files - 1) : each, path: [`d${i % 16}`, `f${i}`] }))
  }
  return parseTorrent(bencode.encode({ info }))
}

async function writeThrough (meta: Metainfo, payload: Uint8Array, storage: Storage): Promise<number> {
  const order = Array.from({ length: meta.pieceCount }, (_, i) => i)
  for (let i = order.length - 1; i > 0; i--) { const j = (i * 7919) % (i + 1); [order[i], order[j]] = [order[j] as number, order[i] as number] }
  const sink = createDiskSink(storage)
  const done = new Promise<void>((resolve, reject) => { sink.on('finish', resolve); sink.on('error', reject) })
  const t0 = performance.now()
  for (const index of order) {
    const start = index * meta.pieceLength
    if (!sink.write({ index, data: payload.subarray(start, start + pieceLengthAt(meta, index)) })) {
      await new Promise<void>(resolve => sink.once('drain', () => resolve()))
    }
  }
  sink.end()
  await done
  return performance.now() - t0
}

/** Cold-cache numbers need root: `sync; echo 3 > /proc/sys/vm/drop_caches`. */
function dropCaches (): boolean {
  try {
    execFileSync('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore', timeout: 60000 })
    return true
  } catch {
    return false
  }
}

function rate (bytes: number, ms: number): string {
  return `${(bytes / MIB / (ms / 1000)).toFixed(0)} MiB/s (${(ms / 1000).toFixed(2)} s)`
}

async function main (): Promise<void> {
  const mib = Number(process.argv[2] ?? 256)
  const fileCounts = process.argv[3] === undefined ? [1, 1000] : [Number(process.argv[3])]
  const payload = randomFillSync(new Uint8Array(mib * MIB))
  for (const files of fileCounts) {
    const meta = makeMeta(payload, files)
    const dir = mkdtempSync(join(tmpdir(), 'bt-stream-bench-'))
    try {
      const out = files <= 1 ? join(dir, 'bench.bin') : dir
      console.log(`${mib} MiB, ${files} file(s), ${meta.pieceCount} pieces of ${PIECE_LENGTH / 1024} KiB, in ${dir}`)
      const memMs = await writeThrough(meta, payload, new MemoryStorage(meta))
      console.log(`  DiskSink -> MemoryStorage:           ${rate(payload.byteLength, memMs)}`)
      const writeMs = await writeThrough(meta, payload, await FileStorage.open(meta, out))
      console.log(`  DiskSink -> FileStorage (random order, fsync + rename): ${rate(payload.byteLength, writeMs)}`)
      const t1 = performance.now()
      const have = await checkExisting(meta, out)
      const checkMs = performance.now() - t1
      console.log(`  checkExisting (resume hash):         ${rate(payload.byteLength, checkMs)}, ${have.count()}/${meta.pieceCount} verified`)
      if (dropCaches()) {
        const t3 = performance.now()
        await checkExisting(meta, out)
        console.log(`  checkExisting, page cache dropped:   ${rate(payload.byteLength, performance.now() - t3)}`)
      }
      const t2 = performance.now()
      await createTorrent(files <= 1 ? out : join(dir, 'bench'), { pieceLength: PIECE_LENGTH })
      console.log(`  create (streaming hash):             ${rate(payload.byteLength, performance.now() - t2)}`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1 })
