/**
 * The payloads every interop cell moves: one single-file torrent and one multi-file torrent (three
 * files, one in a subdirectory, sizes that make pieces straddle file boundaries), with
 * deterministic bytes, and their .torrent files (v1, no trackers, made by lib/metainfo/create.ts).
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createTorrent } from '../lib/metainfo/create.js'
import type { Metainfo } from '../lib/metainfo/types.js'

/** 8 MiB: a few seconds per cell on a loaded 2-core machine, and 32 pieces of 256 KiB. */
export const SINGLE_SIZE = 8 * 1024 * 1024 + 12345
/** 256 KiB: a common real-world piece size; the last piece of each layout is short. */
export const PIECE_LENGTH = 256 * 1024
/** Three files whose boundaries fall inside pieces; one lives in a subdirectory. */
export const MULTI_FILES: ReadonlyArray<{ path: string, size: number, seed: number }> = [
  { path: 'a.bin', size: 3 * 1024 * 1024 + 1001, seed: 2 },
  { path: 'sub/b.bin', size: 2 * 1024 * 1024 + 77_777, seed: 3 },
  { path: 'c.txt', size: 1024 * 1024 + 5, seed: 4 }
]
export const SINGLE_NAME = 'interop-single.bin'
export const MULTI_NAME = 'interop-multi'

export type Layout = 'single' | 'multi'

export interface Fixture {
  readonly layout: Layout
  readonly name: string
  readonly multiFile: boolean
  readonly torrentPath: string
  readonly meta: Metainfo
  /** The directory holding `name` (the file or the multi-file tree). */
  readonly dataDir: string
  /** Paths below `name` (multi-file) or '' (single-file) with their SHA-1, in torrent order. */
  readonly files: ReadonlyArray<{ path: string, size: number, sha1: string }>
}

/** Bytes from a 32-bit xorshift seeded by `seed`: the same on every run and machine. */
export function deterministicBytes (size: number, seed: number): Buffer {
  const out = Buffer.alloc(size)
  let x = (seed * 0x9e3779b1) >>> 0 || 1
  let i = 0
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out.writeUInt32LE(x, i)
  }
  for (; i < size; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

/** Writes both payloads and their torrents under `root` (a fresh directory). */
export async function makeFixtures (root: string): Promise<Record<Layout, Fixture>> {
  const dataDir = join(root, 'data')
  await mkdir(dataDir, { recursive: true })

  const single = deterministicBytes(SINGLE_SIZE, 1)
  await writeFile(join(dataDir, SINGLE_NAME), single)

  // Our creator sorts a directory's files by their path's bytes: the torrent lists them in that order.
  const ordered = [...MULTI_FILES].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
  const multi: Array<{ path: string, size: number, sha1: string }> = []
  for (const f of ordered) {
    const bytes = deterministicBytes(f.size, f.seed)
    const abs = join(dataDir, MULTI_NAME, f.path)
    await mkdir(dirname(abs), { recursive: true })
    await writeFile(abs, bytes)
    multi.push({ path: f.path, size: f.size, sha1: sha1(bytes) })
  }

  const make = async (layout: Layout, name: string, files: Fixture['files']): Promise<Fixture> => {
    const created = await createTorrent(join(dataDir, name), { pieceLength: PIECE_LENGTH, creationDate: null, createdBy: 'bt-stream interop' })
    const torrentPath = join(root, `${name}.torrent`)
    await writeFile(torrentPath, created.torrent)
    return { layout, name, multiFile: created.meta.multiFile, torrentPath, meta: created.meta, dataDir, files }
  }
  return {
    single: await make('single', SINGLE_NAME, [{ path: '', size: single.length, sha1: sha1(single) }]),
    multi: await make('multi', MULTI_NAME, multi)
  }
}

/** Why the files under `dir` differ from the fixture's, or undefined when each is byte-identical. */
export async function compareFiles (fixture: Pick<Fixture, 'name' | 'files'>, dir: string): Promise<string | undefined> {
  for (const f of fixture.files) {
    const path = f.path === '' ? join(dir, fixture.name) : join(dir, fixture.name, f.path)
    let bytes: Buffer
    try {
      bytes = await readFile(path)
    } catch (err) {
      return `${path}: ${(err as Error).message}`
    }
    if (bytes.length !== f.size) return `${path}: ${bytes.length} bytes, expected ${f.size}`
    if (sha1(bytes) !== f.sha1) return `${path}: SHA-1 ${sha1(bytes)}, expected ${f.sha1}`
  }
  return undefined
}
