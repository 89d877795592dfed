/**
 * BEP 52's piece address space for a file tree: "each non-empty file is aligned to a piece
 * boundary and occurs in the same order as in the file tree". Expressed with the v1 model's own
 * tool, padding entries (BEP 47) between files, so offsets and piece indices mean the same thing
 * in v2-only and hybrid torrents. No padding follows the last file: the last piece stays as short
 * as the file makes it (BEP 52 requests are "truncated by the end of a file").
 *
 * Paths: a tree with one top-level entry that is a file is a single-file torrent named by that
 * key; otherwise the torrent `name` is the root directory of every path, as libtorrent does.
 */
import { MetainfoError } from '../util/errors.js'
import type { FileTreeEntry } from './file-tree.js'
import { checkNoCollisions, safeComponent, safeRelativePath } from './safe-path.js'
import type { TorrentFile, V2File } from './types.js'

export interface V2Layout {
  readonly files: TorrentFile[]
  readonly v2Files: V2File[]
  readonly multiFile: boolean
  readonly length: number
  readonly pieceCount: number
}

export function layoutFileTree (entries: readonly FileTreeEntry[], name: string, pieceLength: number): V2Layout {
  const single = entries.length === 1 && (entries[0] as FileTreeEntry).components.length === 1
  const files: TorrentFile[] = []
  const v2Files: V2File[] = []
  const root = single ? undefined : safeComponent(name, 'info.name')
  let offset = 0
  entries.forEach((e, i) => {
    const where = `info.file tree/${e.components.join('/')}`
    const own = safeRelativePath(e.components, `${where} (${JSON.stringify(e.components.join('/'))})`)
    const path = root === undefined ? own : `${root}/${own}`
    const rawPath = single ? [...e.components] : [name, ...e.components]
    v2Files.push({ fileIndex: files.length, path, length: e.length, piecesRoot: e.piecesRoot, firstPiece: Math.floor(offset / pieceLength), pieceCount: Math.ceil(e.length / pieceLength) })
    files.push({ rawPath, path, length: e.length, offset, padding: false, ...(e.piecesRoot === undefined ? {} : { piecesRoot: e.piecesRoot }) })
    offset += e.length
    if (!Number.isSafeInteger(offset)) throw new MetainfoError('info.file tree: total length is too large')
    // Padding right after the file, where libtorrent puts it (an empty file that follows then
    // sits on the boundary too); none after the last file.
    if (e.length > 0 && offset % pieceLength !== 0 && i < entries.length - 1) {
      const pad = pieceLength - (offset % pieceLength)
      files.push({ rawPath: [name, '.pad', String(pad)], path: `${root ?? name}/.pad/${pad}`, length: pad, offset, padding: true })
      offset += pad
    }
  })
  checkNoCollisions(v2Files.map(f => ({ path: f.path, where: `info.file tree/${f.path}` })))
  return { files, v2Files, multiFile: !single, length: offset, pieceCount: Math.ceil(offset / pieceLength) }
}

/**
 * A hybrid torrent (BEP 52 "Upgrade Path") describes the same files twice: the v1 `files` (or
 * `length`) and the v2 `file tree`. If the two disagree, v1 and v2 peers would be in swarms for
 * different content, so they must name the same files, with the same lengths, in the same order,
 * each non-empty file starting on a piece boundary in the v1 byte stream (BEP 47 padding files).
 * Returns the v1 files with each file's pieces root attached, and the v2 view over them.
 */
export function mergeHybrid (v1Files: readonly TorrentFile[], multiFile: boolean, entries: readonly FileTreeEntry[], pieceLength: number): { files: TorrentFile[], v2Files: V2File[] } {
  const real = v1Files.map((f, i) => ({ f, i })).filter(x => !x.f.padding)
  const v1Key = (f: TorrentFile): string => key(multiFile ? f.rawPath.slice(1) : f.rawPath, f.length)
  const n = Math.max(real.length, entries.length)
  for (let j = 0; j < n; j++) {
    const a = real[j]
    const b = entries[j]
    const ka = a === undefined ? undefined : v1Key(a.f)
    const kb = b === undefined ? undefined : key(b.components, b.length)
    if (ka !== kb) throw new MetainfoError(`hybrid torrent: the v1 file list and the v2 file tree disagree (v1 has ${show(ka)}, v2 has ${show(kb)})`)
  }
  const files = [...v1Files]
  const v2Files: V2File[] = real.map(({ f, i }, j) => {
    const e = entries[j] as FileTreeEntry
    if (e.length > 0 && f.offset % pieceLength !== 0) {
      throw new MetainfoError(`hybrid torrent: "${f.path}" starts at byte ${f.offset} of the v1 layout, not on a piece boundary as v2 needs (BEP 52 asks for BEP 47 padding files)`)
    }
    if (e.piecesRoot !== undefined) files[i] = { ...f, piecesRoot: e.piecesRoot }
    return { fileIndex: i, path: f.path, length: f.length, piecesRoot: e.piecesRoot, firstPiece: Math.floor(f.offset / pieceLength), pieceCount: Math.ceil(f.length / pieceLength) }
  })
  return { files, v2Files }
}

function key (path: readonly string[], length: number): string {
  return `${path.join('/')}\u0000${length}`
}

function show (k: string | undefined): string {
  if (k === undefined) return 'nothing more'
  const [path, length] = k.split('\u0000')
  return `"${path ?? ''}" of ${length ?? '?'} bytes`
}
