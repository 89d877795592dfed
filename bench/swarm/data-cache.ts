import { createCipheriv, createHash } from 'node:crypto'
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'

/**
 * The file the swarm seeds, made once and kept between runs: the only thing the benchmark leaves
 * on disk (with its .sha1, .crc32 and .torrent beside it). Incompressible bytes, so no layer can
 * compress them, and the same bytes on every machine and run (an AES-128-CTR keystream under a
 * fixed key): two benchmarks making the cache at once write identical files, each through its
 * own temporary name and an atomic rename, so neither can read the other's half-written file.
 */
export interface BenchData {
  readonly dir: string
  readonly path: string
  readonly size: number
  /** SHA-1 of the whole file, hex: what a downloaded stream or file must hash to. */
  readonly sha1: string
  /** CRC-32 of the whole file: what the cheap consumer checks (zlib.crc32, ~6 GB/s). */
  readonly crc32: number
}

const CHUNK = 16 * 1024 * 1024
/** The keystream's key: any fixed 16 bytes; changing it changes every cache's contents. */
const KEY = Buffer.from('bt-stream bench!')

export function benchDir (): string {
  return process.env.BENCH_DIR ?? '/tmp/bt-stream-bench'
}

export async function ensureBenchData (sizeMiB: number, log: (s: string) => void): Promise<BenchData> {
  const dir = benchDir()
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `bench-${sizeMiB}MiB.bin`)
  const size = sizeMiB * 1024 * 1024
  const sha1Path = `${path}.sha1`
  const crcPath = `${path}.crc32`
  if (existsSync(path) && statSync(path).size === size && existsSync(sha1Path)) {
    const sha1 = readFileSync(sha1Path, 'utf8').trim()
    // Caches made before the CRC was kept: computed once from the file.
    if (!existsSync(crcPath)) writeAtomically(crcPath, String(await fileCrc32(path)) + '\n')
    return { dir, path, size, sha1, crc32: Number(readFileSync(crcPath, 'utf8').trim()) }
  }
  // Torrents made from an older file of this size no longer match it.
  for (const f of readdirSync(dir)) if (f.startsWith(`bench-${sizeMiB}MiB-`) && f.endsWith('.torrent')) rmSync(join(dir, f), { force: true })
  log(`making ${sizeMiB} MiB of data in ${path} (once)`)
  const tmp = `${path}.${process.pid}.tmp`
  const hash = createHash('sha1')
  let crc = 0
  const keystream = createCipheriv('aes-128-ctr', KEY, Buffer.alloc(16))
  const zeros = Buffer.alloc(CHUNK)
  const fd = openSync(tmp, 'w')
  try {
    for (let left = size; left > 0; left -= CHUNK) {
      const buf = keystream.update(zeros.subarray(0, Math.min(CHUNK, left)))
      hash.update(buf)
      crc = crc32(buf, crc)
      writeSync(fd, buf)
    }
  } finally {
    closeSync(fd)
  }
  const sha1 = hash.digest('hex')
  // The sums first: whoever sees the new .bin finds sums that match it.
  writeAtomically(sha1Path, sha1 + '\n')
  writeAtomically(crcPath, String(crc) + '\n')
  renameSync(tmp, path)
  return { dir, path, size, sha1, crc32: crc }
}

/** Where the torrent for this data and piece length lives (made by the seeders if missing). */
export function torrentPath (data: BenchData, pieceKiB: number): string {
  return data.path.replace(/\.bin$/, `-${pieceKiB}K.torrent`)
}

/** SHA-1 (hex) of a file, read in streaming: how a downloaded file is checked after its run. */
export async function fileSha1 (path: string): Promise<string> {
  const hash = createHash('sha1')
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function fileCrc32 (path: string): Promise<number> {
  let crc = 0
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) crc = crc32(chunk as Buffer, crc)
  return crc
}

function writeAtomically (path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}
