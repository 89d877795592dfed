/**
 * Making a v1 .torrent (BEP 3) from a file or a directory, like mktorrent:
 *   { announce, announce-list?, comment?, created by, creation date?, url-list?,
 *     info: { name, piece length, pieces, length | files: [ { length, path: [...] } ], private? } }
 * A directory's files (hidden ones included, as mktorrent does) are sorted by their path's bytes;
 * symlinks are followed, other non-regular files skipped. Files are hashed with streaming reads,
 * one piece's SHA-1 at a time, so memory does not grow with the input.
 */
import bencode from 'bencode'
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { Stats } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { MetainfoError } from '../util/errors.js'
import { toStorageError } from '../storage/storage-error.js'
import { createV2Torrent } from './create-v2.js'
import { parseTorrent } from './parse.js'
import type { Metainfo } from './types.js'

/** Automatic piece lengths stay within these (powers of two). */
export const MIN_AUTO_PIECE_LENGTH = 16 * 1024
export const MAX_AUTO_PIECE_LENGTH = 16 * 1024 * 1024
/** The automatic piece length aims at no more than this many pieces (and more than half of it). */
export const TARGET_PIECES = 2000
/** Read size while hashing: large enough for sequential disk speed, small enough not to matter. */
export const READ_CHUNK = 1024 * 1024

export interface CreateOptions {
  /** Tracker URLs, each its own BEP 12 tier (mktorrent's `-a`); the first is also `announce`. */
  readonly trackers?: readonly string[]
  /** Bytes; a power of two of at least 16 KiB. Default: autoPieceLength(total size). */
  readonly pieceLength?: number
  /** BEP 27. */
  readonly private?: boolean
  readonly comment?: string
  readonly createdBy?: string
  /** Seconds since the epoch; default now; null leaves the key out (reproducible output). */
  readonly creationDate?: number | null
  /** BEP 19 web seeds. */
  readonly webSeeds?: readonly string[]
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void
  readonly signal?: AbortSignal
  /**
   * 'v1' (default): BEP 3 only. 'v2': BEP 52 only (`file tree`, `piece layers`). 'hybrid': both,
   * the v1 files padded to piece boundaries with BEP 47 padding files (create-v2.ts).
   */
  readonly version?: 'v1' | 'v2' | 'hybrid'
}

export interface CreatedTorrent {
  /** The bencoded .torrent. */
  readonly torrent: Uint8Array
  /** The same, parsed back by our own parser. */
  readonly meta: Metainfo
}

export interface InputFile {
  readonly abs: string
  /** Path components below the input directory; empty for a single-file torrent. */
  readonly components: string[]
  readonly length: number
  /** Owner-executable (BEP 47 `attr` "x"; written in v2 and hybrid torrents, as libtorrent does). */
  readonly executable?: boolean
}

/** Smallest power of two in [16 KiB, 16 MiB] giving at most TARGET_PIECES pieces. */
export function autoPieceLength (totalLength: number): number {
  let pl = MIN_AUTO_PIECE_LENGTH
  while (pl < MAX_AUTO_PIECE_LENGTH && Math.ceil(totalLength / pl) > TARGET_PIECES) pl *= 2
  return pl
}

export function isValidPieceLength (n: number): boolean {
  return Number.isSafeInteger(n) && n >= MIN_AUTO_PIECE_LENGTH && (n & (n - 1)) === 0
}

export async function createTorrent (input: string, opts: CreateOptions = {}): Promise<CreatedTorrent> {
  const root = resolve(input)
  const top = await statOrThrow(root)
  const multiFile = top.isDirectory()
  if (!multiFile && !top.isFile()) throw new MetainfoError(`${JSON.stringify(input)} is neither a file nor a directory`)
  const files = multiFile ? await listFiles(root) : [{ abs: root, components: [], length: top.size, executable: isExecutable(top) }]
  const total = files.reduce((n, f) => n + f.length, 0)
  if (files.length === 0) throw new MetainfoError(`${JSON.stringify(input)} holds no files`)
  if (total === 0) throw new MetainfoError(`${JSON.stringify(input)} holds 0 bytes: there is nothing to share`)
  const pieceLength = opts.pieceLength ?? autoPieceLength(total)
  if (!isValidPieceLength(pieceLength)) throw new MetainfoError(`piece length ${pieceLength} is not a power of two of at least ${MIN_AUTO_PIECE_LENGTH}`)

  if (opts.version === 'v2' || opts.version === 'hybrid') {
    return await createV2Torrent(basename(root), files, multiFile, pieceLength, total, { ...opts, version: opts.version })
  }
  const pieces = await hashFiles(files, pieceLength, total, opts)
  const info: Record<string, unknown> = { name: basename(root), 'piece length': pieceLength, pieces }
  if (multiFile) info.files = files.map(f => ({ length: f.length, path: f.components }))
  else info.length = total
  if (opts.private === true) info.private = 1

  const torrent: Record<string, unknown> = { info }
  const trackers = opts.trackers ?? []
  if (trackers.length > 0) torrent.announce = trackers[0]
  if (trackers.length > 1) torrent['announce-list'] = trackers.map(t => [t])
  if (opts.comment !== undefined) torrent.comment = opts.comment
  torrent['created by'] = opts.createdBy ?? 'bt-stream'
  if (opts.creationDate !== null) torrent['creation date'] = opts.creationDate ?? Math.floor(Date.now() / 1000)
  if (opts.webSeeds !== undefined && opts.webSeeds.length > 0) torrent['url-list'] = [...opts.webSeeds]
  const bytes = bencode.encode(torrent)
  return { torrent: bytes, meta: parseTorrent(bytes) }
}

/** Every regular file below `root`, sorted by its '/'-joined path's UTF-8 bytes (strcmp order). */
export async function listFiles (root: string): Promise<InputFile[]> {
  const out: InputFile[] = []
  const seenDirs = new Set<string>()
  const walk = async (dir: string, components: string[]): Promise<void> => {
    const st = await statOrThrow(dir)
    // A symlink back up the tree would recurse forever.
    const id = `${st.dev}:${st.ino}`
    if (seenDirs.has(id)) throw new MetainfoError(`${JSON.stringify(dir)} links back into the tree (a symlink loop)`)
    seenDirs.add(id)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (err) {
      throw toStorageError('list', dir, err)
    }
    for (const name of names) {
      const abs = join(dir, name)
      const s = await statOrThrow(abs)
      if (s.isDirectory()) await walk(abs, [...components, name])
      else if (s.isFile()) out.push({ abs, components: [...components, name], length: s.size, executable: isExecutable(s) })
    }
    seenDirs.delete(id)
  }
  await walk(root, [])
  const key = (f: InputFile): Buffer => Buffer.from(f.components.join('/'), 'utf8')
  return out.sort((a, b) => Buffer.compare(key(a), key(b)))
}

/** The concatenated SHA-1 of every piece of the files laid end to end. */
async function hashFiles (files: readonly InputFile[], pieceLength: number, total: number, opts: CreateOptions): Promise<Uint8Array> {
  const pieces = Buffer.alloc(Math.ceil(total / pieceLength) * 20)
  let piece = 0
  let inPiece = 0
  let hash: Hash = createHash('sha1')
  let hashed = 0
  for (const f of files) {
    let read = 0
    try {
      for await (const chunk of createReadStream(f.abs, { highWaterMark: READ_CHUNK, signal: opts.signal }) as AsyncIterable<Buffer>) {
        read += chunk.byteLength
        if (read > f.length) break
        let at = 0
        while (at < chunk.byteLength) {
          const take = Math.min(chunk.byteLength - at, pieceLength - inPiece)
          hash.update(chunk.subarray(at, at + take))
          at += take
          inPiece += take
          if (inPiece === pieceLength) {
            hash.digest().copy(pieces, piece++ * 20)
            hash = createHash('sha1')
            inPiece = 0
          }
        }
        hashed += chunk.byteLength
        opts.onProgress?.(hashed, total)
      }
    } catch (err) {
      if (opts.signal?.aborted === true) throw err
      throw toStorageError('read', f.abs, err)
    }
    if (read !== f.length) throw new MetainfoError(`${JSON.stringify(f.abs)} changed size while being hashed (${f.length} -> ${read} bytes)`)
  }
  if (inPiece > 0) hash.digest().copy(pieces, piece * 20)
  return pieces
}

/** libtorrent marks a file executable when its owner may run it (S_IXUSR). */
function isExecutable (s: Stats): boolean {
  return (s.mode & 0o100) !== 0
}

export async function statOrThrow (path: string): Promise<Stats> {
  try {
    return await stat(path)
  } catch (err) {
    throw toStorageError('read', path, err)
  }
}
