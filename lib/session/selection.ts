/**
 * What part of a torrent a download produces: one file (`--file N|path`), or the whole byte
 * stream of a single-file torrent. Resolved to a byte range of the torrent and the pieces under it.
 */
import { piecesForRange } from '../metainfo/geometry.js'
import type { Metainfo } from '../metainfo/types.js'
import { UsageError } from '../util/errors.js'
import { humanSize } from '../util/format.js'

export interface Selection {
  /** The torrent byte range [start, end) the stream carries. */
  readonly start: number
  readonly end: number
  /** Pieces under it (inclusive); undefined for an empty range. */
  readonly firstPiece: number | undefined
  readonly lastPiece: number | undefined
  /** The file index chosen, if one was. */
  readonly fileIndex: number | undefined
}

/** Bytes [start, end) of the chosen file (of the torrent, without one); end exclusive. */
export interface ByteRange {
  readonly start?: number
  readonly end?: number
}

/**
 * `file`: an index into `meta.files` or a path as `bt-stream info` prints it. Without one, a
 * multi-file torrent is a usage error that lists the files (a stream is one file). `range`
 * narrows it to bytes [start, end) of that file; only the pieces under them are fetched.
 */
export function selectRange (meta: Metainfo, file?: number | string, range: ByteRange = {}): Selection {
  let fileIndex: number | undefined
  if (file === undefined) {
    if (meta.multiFile) {
      throw new UsageError(`"${meta.name}" holds ${meta.files.length} files; choose one (the file option):\n${listFiles(meta)}`)
    }
    fileIndex = undefined
  } else {
    fileIndex = typeof file === 'number' ? file : findFile(meta, file)
    const f = meta.files[fileIndex]
    if (f === undefined) throw new UsageError(`file ${file}: no such file; the torrent holds:\n${listFiles(meta)}`)
    if (f.padding) throw new UsageError(`file ${file} is a padding file (BEP 47), not content`)
  }
  const offset = fileIndex === undefined ? 0 : meta.files[fileIndex]!.offset
  const length = fileIndex === undefined ? meta.length : meta.files[fileIndex]!.length
  const from = range.start ?? 0
  const to = range.end ?? length
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to > length || from > to) {
    throw new UsageError(`byte range ${from}..${to} is outside the ${fileIndex === undefined ? 'torrent' : 'file'}'s 0..${length}`)
  }
  const start = offset + from
  const end = offset + to
  const span = piecesForRange(meta, start, end)
  return { start, end, firstPiece: span?.first, lastPiece: span?.last, fileIndex }
}

/** One whole piece (`bt-stream piece`): its bytes as verified, for debugging a swarm. */
export function selectPiece (meta: Metainfo, index: number): Selection {
  if (!Number.isInteger(index) || index < 0 || index >= meta.pieceCount) {
    throw new UsageError(`piece ${index} is out of range: the torrent has pieces 0..${meta.pieceCount - 1}`)
  }
  const start = index * meta.pieceLength
  const end = start + (index === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength)
  return { start, end, firstPiece: index, lastPiece: index, fileIndex: undefined }
}

/** Files chosen by `--file` (indexes or paths), for a download to disk; undefined: all of them. */
export function selectFiles (meta: Metainfo, sels: readonly string[]): number[] | undefined {
  if (sels.length === 0) return undefined
  return sels.map(sel => {
    const i = findFile(meta, sel)
    if (meta.files[i] === undefined) throw new UsageError(`file ${sel}: no such file; the torrent holds:\n${listFiles(meta)}`)
    return i
  })
}

function findFile (meta: Metainfo, sel: string): number {
  if (/^\d+$/.test(sel)) return Number(sel)
  const i = meta.files.findIndex(f => f.path === sel || f.path === `${meta.name}/${sel}`)
  return i === -1 ? meta.files.length : i
}

export function listFiles (meta: Metainfo): string {
  return meta.files
    .map((f, i) => f.padding ? undefined : `  ${i}  ${f.path}  (${humanSize(f.length)})`)
    .filter(line => line !== undefined)
    .join('\n')
}
