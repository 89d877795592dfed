import { createHash, randomFillSync } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The file the swarm seeds, made once and kept between runs: the only thing the benchmark leaves
 * on disk (with its .sha1 and .torrent beside it). Random bytes, so no layer can compress them.
 */
export interface BenchData {
  readonly dir: string
  readonly path: string
  readonly size: number
  /** SHA-1 of the whole file, hex: what the downloaded stream must hash to. */
  readonly sha1: string
}

const CHUNK = 16 * 1024 * 1024

export function benchDir (): string {
  return process.env.BENCH_DIR ?? '/tmp/bt-stream-bench'
}

export function ensureBenchData (sizeMiB: number, log: (s: string) => void): BenchData {
  const dir = benchDir()
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `bench-${sizeMiB}MiB.bin`)
  const size = sizeMiB * 1024 * 1024
  const sidecar = `${path}.sha1`
  if (existsSync(path) && statSync(path).size === size && existsSync(sidecar)) {
    return { dir, path, size, sha1: readFileSync(sidecar, 'utf8').trim() }
  }
  // Torrents made from an older file of this size no longer match it.
  for (const f of readdirSync(dir)) if (f.startsWith(`bench-${sizeMiB}MiB-`) && f.endsWith('.torrent')) rmSync(join(dir, f))
  log(`making ${sizeMiB} MiB of random data in ${path} (once)`)
  const tmp = `${path}.tmp`
  const hash = createHash('sha1')
  const buf = Buffer.allocUnsafe(CHUNK)
  const fd = openSync(tmp, 'w')
  try {
    for (let left = size; left > 0; left -= CHUNK) {
      const n = Math.min(CHUNK, left)
      randomFillSync(buf, 0, n)
      hash.update(buf.subarray(0, n))
      writeSync(fd, buf, 0, n)
    }
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  const sha1 = hash.digest('hex')
  writeFileSync(sidecar, sha1 + '\n')
  return { dir, path, size, sha1 }
}

/** Where the torrent for this data and piece length lives (made by the seeders if missing). */
export function torrentPath (data: BenchData, pieceKiB: number): string {
  return data.path.replace(/\.bin$/, `-${pieceKiB}K.torrent`)
}
