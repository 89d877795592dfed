import bencode from 'bencode'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { pieceLengthAt } from '../../lib/metainfo/geometry.js'
import { prng } from '../helpers.js'

export interface FileSpec {
  readonly path: readonly string[]
  readonly length: number
  /** BEP 47 padding file (attr "p"): zeros in the byte stream, never on disk. */
  readonly padding?: boolean
}

export interface Fixture {
  readonly meta: Metainfo
  readonly torrent: Uint8Array
  /** The torrent's whole byte stream (padding as zeros). */
  readonly payload: Uint8Array
  /** Each non-padding file's bytes, by TorrentFile.path. */
  readonly contents: ReadonlyMap<string, Uint8Array>
}

/** A torrent with seeded pseudo-random contents; one spec without `name` makes a single-file one. */
export function makeTorrent (name: string, files: readonly FileSpec[] | number, pieceLength: number, seed = 1): Fixture {
  const rand = prng(seed)
  const specs: readonly FileSpec[] = typeof files === 'number' ? [{ path: [name], length: files }] : files
  const total = specs.reduce((n, f) => n + f.length, 0)
  const payload = new Uint8Array(total)
  let at = 0
  for (const f of specs) {
    if (f.padding !== true) for (let i = 0; i < f.length; i++) payload[at + i] = Math.floor(rand() * 256)
    at += f.length
  }
  const pieces = Buffer.alloc(Math.ceil(total / pieceLength) * 20)
  for (let p = 0; p * pieceLength < total; p++) {
    createHash('sha1').update(payload.subarray(p * pieceLength, Math.min(total, (p + 1) * pieceLength))).digest().copy(pieces, p * 20)
  }
  const info: Record<string, unknown> = { name, 'piece length': pieceLength, pieces }
  if (typeof files === 'number') info.length = total
  else info.files = specs.map(f => f.padding === true ? { attr: 'p', length: f.length, path: ['.pad', String(f.length)] } : { length: f.length, path: [...f.path] })
  const torrent = bencode.encode({ info })
  const meta = parseTorrent(torrent)
  const contents = new Map<string, Uint8Array>()
  for (const f of meta.files) if (!f.padding) contents.set(f.path, payload.subarray(f.offset, f.offset + f.length))
  return { meta, torrent, payload, contents }
}

/** Piece `index` of the fixture's byte stream (a view). */
export function pieceOf (fx: Fixture, index: number): Uint8Array {
  const start = index * fx.meta.pieceLength
  return fx.payload.subarray(start, start + pieceLengthAt(fx.meta, index))
}

/** A fresh directory under the OS temp dir, and a function that removes it. */
export function tempDir (prefix: string): { dir: string, cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `bt-stream-${prefix}-`))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Every regular file under `dir`, as '/'-joined relative paths, sorted. */
export function listTree (dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const abs = join(d, name)
      if (statSync(abs).isDirectory()) walk(abs)
      else out.push(relative(dir, abs).split('\\').join('/'))
    }
  }
  walk(dir)
  return out.sort()
}

/** A seeded shuffle of 0..n-1. */
export function shuffled (n: number, seed: number): number[] {
  const rand = prng(seed)
  const a = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = a[i] as number
    a[i] = a[j] as number
    a[j] = t
  }
  return a
}
