/**
 * BEP 52 `piece layers`, outside the info dict:
 *
 *   piece layers: { <pieces root, 32 bytes>: <the file's piece-layer hashes, concatenated> }
 *
 * One entry per file longer than one piece. Each is checked against the file's `pieces root`
 * (BEP 52 "infohash": "implementations must also check that the piece layers hashes outside the
 * info dictionary match the pieces root fields"): the right number of hashes, and hashing them
 * up, padded with zero subtrees to a power of two, gives the root. A file of one piece or less
 * needs no entry: its piece hash is its root.
 */
import { MetainfoError } from '../util/errors.js'
import { equalHashes, filePieceCount, HASH_SIZE, rootFromPieceLayer, splitHashes } from '../v2/merkle.js'
import { dictEntries, kindName, rawBytes, rawKind } from './raw-dict.js'
import { copyBytes } from '../util/copy-bytes.js'


export interface LayerFile {
  readonly path: string
  readonly length: number
  readonly piecesRoot?: Uint8Array | undefined
}

/**
 * Reads and verifies `piece layers` (the value's bytes at [start, end) of `bytes`, already
 * scanned). Returns the layers keyed by pieces root (hex). Extra entries no file needs are
 * dropped; a missing or wrong entry is an error.
 */
export function parsePieceLayers (bytes: Uint8Array, start: number, files: readonly LayerFile[], pieceLength: number): Map<string, Uint8Array> {
  const kind = rawKind(bytes, start)
  if (kind !== 'dict') throw new MetainfoError(`piece layers must be a dictionary, found ${kindName(kind)}`)
  const given = new Map<string, Uint8Array>()
  for (const e of dictEntries(bytes, start)) {
    const key = Buffer.from(e.key).toString('hex')
    const vk = rawKind(bytes, e.start)
    if (vk !== 'bytes') throw new MetainfoError(`piece layers[${key}] must be a byte string, found ${kindName(vk)}`)
    given.set(key, rawBytes(bytes, e))
  }
  const out = new Map<string, Uint8Array>()
  for (const f of files) {
    if (f.piecesRoot === undefined || f.length <= pieceLength) continue
    const key = Buffer.from(f.piecesRoot).toString('hex')
    if (out.has(key)) continue // identical files share a root and a layer
    const layer = given.get(key)
    if (layer === undefined) throw new MetainfoError(`piece layers has no entry for "${f.path}" (pieces root ${key}), which spans more than one piece`)
    checkLayer(layer, f, pieceLength)
    out.set(key, copyBytes(layer))
  }
  return out
}

/** Throws unless `layer` is the piece layer of `file` (count and hash up to its root). */
export function checkLayer (layer: Uint8Array, file: LayerFile, pieceLength: number): void {
  const want = filePieceCount(file.length, pieceLength)
  if (layer.length !== want * HASH_SIZE) {
    throw new MetainfoError(`piece layers: "${file.path}" needs ${want} hashes of ${HASH_SIZE} bytes (${want * HASH_SIZE} bytes), found ${layer.length} bytes`)
  }
  if (file.piecesRoot === undefined || !equalHashes(rootFromPieceLayer(splitHashes(layer), pieceLength), file.piecesRoot)) {
    throw new MetainfoError(`piece layers: the layer of "${file.path}" does not hash up to its pieces root (a corrupted torrent, or layers from another one)`)
  }
}

/** Files that need a layer: longer than one piece. */
export function needsLayer (file: LayerFile, pieceLength: number): boolean {
  return file.piecesRoot !== undefined && file.length > pieceLength
}
