/**
 * Torrents made in-process for engine tests: random data, hashed here, parsed by our parser from
 * real bencoded bytes (so the engine sees exactly what it sees for a .torrent on disk).
 */
import { createHash, randomBytes } from 'node:crypto'
import bencode from 'bencode'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'

export interface MadeTorrent {
  readonly meta: Metainfo
  readonly torrent: Uint8Array
  readonly data: Buffer
}

/** A deterministic PRNG stream (for data that must be the same on every run). */
export function seededBytes (length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export function makeTorrent (opts: { length: number, pieceLength: number, name?: string, announce?: string, files?: { path: string[], length: number }[], data?: Buffer }): MadeTorrent {
  const total = opts.files === undefined ? opts.length : opts.files.reduce((n, f) => n + f.length, 0)
  const data = opts.data ?? randomBytes(total)
  const hashes: Buffer[] = []
  for (let at = 0; at < total; at += opts.pieceLength) {
    hashes.push(createHash('sha1').update(data.subarray(at, Math.min(total, at + opts.pieceLength))).digest())
  }
  const info: Record<string, unknown> = {
    name: opts.name ?? 'test.bin',
    'piece length': opts.pieceLength,
    pieces: Buffer.concat(hashes)
  }
  if (opts.files === undefined) info.length = total
  else info.files = opts.files.map(f => ({ length: f.length, path: f.path }))
  const top: Record<string, unknown> = { info }
  if (opts.announce !== undefined) top.announce = opts.announce
  const torrent = bencode.encode(top)
  return { meta: parseTorrent(torrent), torrent, data }
}
