import type { Metainfo } from './types.js'

/**
 * Piece geometry (BEP 3): the files are concatenated into one byte stream, cut into pieces of
 * `pieceLength` bytes; only the last piece may be shorter.
 *
 * BEP 52 v2-only torrents use the same address space (every file starts on a piece boundary,
 * `files` holds a padding entry between files), but a piece ends with its file: "the remaining
 * piece is truncated by the end of a file". So `pieceLengthAt` of a file's last piece is what the
 * file holds of it, and nobody requests, stores or hashes the padding. Hybrids keep BEP 3's
 * geometry (their padding files are real v1 data).
 */

/** The pieces a file's bytes fall in; offsets are within those pieces, the end exclusive. */
export interface PieceSpan {
  readonly first: number
  readonly last: number
  readonly startOffsetInFirst: number
  /** Exclusive: the file ends at this offset of piece `last` (1..that piece's length). */
  readonly endOffsetInLast: number
}

/** The part of one file that a byte range of the torrent covers. */
export interface FileSlice {
  readonly fileIndex: number
  /** Offset within the file. */
  readonly fileOffset: number
  readonly length: number
}

type Geometry = Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length' | 'lastPieceLength' | 'pieceHashes' | 'files'> & { readonly version?: Metainfo['version'] }

function checkPiece (meta: Geometry, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= meta.pieceCount) {
    throw new RangeError(`piece ${index} is out of range (0..${meta.pieceCount - 1})`)
  }
}

export function pieceLengthAt (meta: Geometry, index: number): number {
  checkPiece(meta, index)
  if (meta.version === 'v2') return v2PieceLength(meta, index)
  return index === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength
}

/**
 * How far into a piece a peer may ask to read (we serve zeros past the file's end). BEP 3: the
 * piece's length. v2-only: the whole piece length, for every piece: libtorrent 2.0 asks for a
 * file's last 16 KiB block whole, padding included, and counts a padding tail after the last file
 * too (its v2 torrents' total size is a multiple of the piece length), although BEP 52 says a
 * request ends with the file. We never ask that of others (`pieceLengthAt`).
 */
export function pieceSpanAt (meta: Geometry, index: number): number {
  checkPiece(meta, index)
  if (meta.version === 'v2') return meta.pieceLength
  return index === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength
}

/** What an uploader's request check reads (lib/seed/uploader.ts PieceGeometry): `pieceSpanAt`'s sizes. */
export function uploadGeometry (meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'lastPieceLength'> & { readonly version?: Metainfo['version'] }): { pieceLength: number, pieceCount: number, lastPieceLength: number } {
  return { pieceLength: meta.pieceLength, pieceCount: meta.pieceCount, lastPieceLength: meta.version === 'v2' ? meta.pieceLength : meta.lastPieceLength }
}

/**
 * BEP 52: a v2-only piece holds bytes of one file only, up to that file's end. A piece never
 * starts inside padding (padding only fills a file's last piece), so the file holding the piece's
 * first byte is the piece's file.
 */
function v2PieceLength (meta: Geometry, index: number): number {
  const start = index * meta.pieceLength
  const f = meta.files[firstFileEndingAfter(meta, start)]
  if (f === undefined || f.padding || f.offset > start) return 0
  return Math.min(meta.pieceLength, f.offset + f.length - start)
}

/**
 * The piece sizes as the block tracker (lib/pieces/request-tracker.ts) reads them: BEP 3's, and
 * for a v2-only torrent each file's short last piece (`pieceLengthAt`).
 */
export function pieceGeometry (meta: Geometry): { pieceLength: number, lastPieceLength: number, pieceCount: number, pieceLengthAt?: (index: number) => number } {
  const base = { pieceLength: meta.pieceLength, lastPieceLength: meta.lastPieceLength, pieceCount: meta.pieceCount }
  return meta.version === 'v2' ? { ...base, pieceLengthAt: index => pieceLengthAt(meta, index) } : base
}

/** The expected SHA-1 of a piece: a view into `pieceHashes`, not a copy. */
export function pieceHash (meta: Geometry, index: number): Uint8Array {
  checkPiece(meta, index)
  return meta.pieceHashes.subarray(index * 20, index * 20 + 20)
}

/** Byte offset of a piece's first byte in the torrent's byte stream. */
export function pieceOffset (meta: Geometry, index: number): number {
  checkPiece(meta, index)
  return index * meta.pieceLength
}

/** The pieces a byte range [start, end) of the torrent touches; undefined for an empty range. */
export function piecesForRange (meta: Geometry, start: number, end: number): PieceSpan | undefined {
  if (start < 0 || end > meta.length || start > end) throw new RangeError(`byte range ${start}..${end} is outside 0..${meta.length}`)
  if (start === end) return undefined
  const first = Math.floor(start / meta.pieceLength)
  const last = Math.floor((end - 1) / meta.pieceLength)
  return { first, last, startOffsetInFirst: start - first * meta.pieceLength, endOffsetInLast: end - last * meta.pieceLength }
}

/** The pieces holding a file; undefined for an empty file, which occupies none. */
export function piecesForFile (meta: Geometry, fileIndex: number): PieceSpan | undefined {
  const file = meta.files[fileIndex]
  if (file === undefined) throw new RangeError(`file ${fileIndex} is out of range (0..${meta.files.length - 1})`)
  return piecesForRange(meta, file.offset, file.offset + file.length)
}

/** The files (and parts of them) a byte range [start, end) covers, in order; empty files skipped. */
export function filesInRange (meta: Geometry, start: number, end: number): FileSlice[] {
  if (start < 0 || end > meta.length || start > end) throw new RangeError(`byte range ${start}..${end} is outside 0..${meta.length}`)
  const out: FileSlice[] = []
  for (let i = firstFileEndingAfter(meta, start); i < meta.files.length; i++) {
    const f = meta.files[i] as Geometry['files'][number]
    if (f.offset >= end) break
    const s = Math.max(start, f.offset)
    const e = Math.min(end, f.offset + f.length)
    if (e > s) out.push({ fileIndex: i, fileOffset: s - f.offset, length: e - s })
  }
  return out
}

/** The files a piece's bytes belong to. */
export function filesInPiece (meta: Geometry, index: number): FileSlice[] {
  const start = pieceOffset(meta, index)
  return filesInRange(meta, start, start + pieceLengthAt(meta, index))
}

/** Binary search: the first file whose end lies after `offset` (files are sorted by offset). */
function firstFileEndingAfter (meta: Geometry, offset: number): number {
  let lo = 0
  let hi = meta.files.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const f = meta.files[mid] as Geometry['files'][number]
    if (f.offset + f.length <= offset) lo = mid + 1
    else hi = mid
  }
  return lo
}
