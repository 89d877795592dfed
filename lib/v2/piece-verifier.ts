/**
 * BEP 52 verification for the download engine: which file a piece belongs to, its hash (from
 * the piece layer, or the pieces root for a file of one piece or less), whole-piece checks, and
 * per-block checks once the piece's block hashes are known.
 *
 * Two ways to verify a piece (see lib/v2/README.md for the engine's flow):
 * - whole piece: `verifyPiece(piece, bytes)` hashes its blocks up to the piece hash, like a v1
 *   SHA-1 check but SHA-256 and per file;
 * - per block: ask a peer for the piece's block hashes (`blockHashesRequest`), check them once
 *   against the piece hash (`acceptBlockHashes`), then `verifyBlock` each 16 KiB block as it
 *   arrives: a verified block may leave for stdout at once, and a bad one names its sender.
 *
 * Piece layers missing (a magnet): `pieceLayerRequests()` lists what to ask for;
 * `addPieceLayerHashes(msg)` checks each answer against the pieces root before keeping it.
 */
import { MetainfoError } from '../util/errors.js'
import type { Metainfo, V2File } from '../metainfo/types.js'
import { sameRequest, type HashesMessage, type HashRequest } from '../wire/hash-messages.js'
import { blockHashesRequest, leavesPerPiece, pieceLayerRequests, resolveHashes } from './hash-requester.js'
import { BLOCK_SIZE, equalHashes, pieceLayerHeight, pieceRoot, pieceSubtreeHeight, sha256, splitHashes, treeHeight } from './merkle.js'

export type AddHashesResult = 'stored' | 'mismatch' | 'unexpected'

export class V2PieceVerifier {
  readonly pieceLength: number
  /** Non-empty files by first piece, for the piece -> file lookup. */
  private readonly _files: V2File[]
  /** Piece-layer hashes per file (by pieces root hex); entries undefined until known. */
  private readonly _layers = new Map<string, (Uint8Array | undefined)[]>()

  constructor (meta: Metainfo) {
    if (meta.v2Files === undefined) throw new MetainfoError('not a BEP 52 torrent: no file tree')
    this.pieceLength = meta.pieceLength
    this._files = meta.v2Files.filter(f => f.length > 0).sort((a, b) => a.firstPiece - b.firstPiece)
    for (const f of this._files) {
      if (f.length <= this.pieceLength) continue
      const key = hexOf(f.piecesRoot as Uint8Array)
      const known = meta.pieceLayers?.get(key)
      this._layers.set(key, known === undefined ? new Array<Uint8Array | undefined>(f.pieceCount).fill(undefined) : splitHashes(known))
    }
  }

  /** The file that piece `piece` (global index) belongs to, and its index within the file. */
  locate (piece: number): { file: V2File, pieceInFile: number } | undefined {
    let lo = 0
    let hi = this._files.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const f = this._files[mid] as V2File
      if (piece < f.firstPiece) hi = mid - 1
      else if (piece >= f.firstPiece + f.pieceCount) lo = mid + 1
      else return { file: f, pieceInFile: piece - f.firstPiece }
    }
    return undefined
  }

  /** Bytes of file data in `piece` (BEP 52: the last piece of a file ends with the file). */
  pieceSize (piece: number): number {
    const at = this.locate(piece)
    if (at === undefined) return 0
    return Math.min(this.pieceLength, at.file.length - at.pieceInFile * this.pieceLength)
  }

  /** The hash `piece` must hash up to, or undefined while its piece layer is not known. */
  pieceHash (piece: number): Uint8Array | undefined {
    const at = this.locate(piece)
    if (at === undefined) return undefined
    if (at.file.length <= this.pieceLength) return at.file.piecesRoot
    return this._layers.get(hexOf(at.file.piecesRoot as Uint8Array))?.[at.pieceInFile]
  }

  /** True when every piece has its hash (piece layers complete). */
  hasAllPieceHashes (): boolean {
    for (const layer of this._layers.values()) if (layer.includes(undefined)) return false
    return true
  }

  /**
   * The piece layers as Metainfo.pieceLayers holds them (concatenated hashes by pieces root hex),
   * once every one is known (`hasAllPieceHashes`); undefined before.
   */
  pieceLayers (): Map<string, Uint8Array> | undefined {
    const out = new Map<string, Uint8Array>()
    for (const [key, layer] of this._layers) {
      if (layer.includes(undefined)) return undefined
      out.set(key, Buffer.concat(layer as Uint8Array[]))
    }
    return out
  }

  /** Requests for the piece layers still missing (empty when complete). */
  pieceLayerRequests (): HashRequest[] {
    const out: HashRequest[] = []
    for (const f of this._files) {
      const layer = this._layers.get(hexOf(f.piecesRoot as Uint8Array))
      if (layer === undefined) continue
      for (const r of pieceLayerRequests(f, this.pieceLength)) {
        if (layer.slice(r.index, r.index + r.length).includes(undefined)) out.push(r)
      }
    }
    return out
  }

  /**
   * A `hashes` answer to a piece-layer request: kept when it hashes up to the file's pieces
   * root. 'mismatch' means the peer sent wrong hashes (count it against that peer); 'unexpected'
   * that it answers nothing we asked (not a piece-layer answer for a file of ours).
   */
  addPieceLayerHashes (m: HashesMessage): AddHashesResult {
    const file = this._files.find(f => f.piecesRoot !== undefined && equalHashes(f.piecesRoot, m.piecesRoot))
    const layer = file === undefined ? undefined : this._layers.get(hexOf(m.piecesRoot))
    if (file === undefined || layer === undefined || m.baseLayer !== pieceLayerHeight(this.pieceLength)) return 'unexpected'
    const top = resolveHashes(m)
    if (top.height !== treeHeight(file.length) || top.index !== 0) return 'unexpected'
    if (!equalHashes(top.hash, file.piecesRoot as Uint8Array)) return 'mismatch'
    for (let i = 0; i < m.length && m.index + i < layer.length; i++) layer[m.index + i] = m.hashes[i]
    return 'stored'
  }

  /** Whole-piece check: the piece's bytes hash up to its piece hash. False while it is unknown. */
  verifyPiece (piece: number, data: Uint8Array): boolean {
    const at = this.locate(piece)
    const want = this.pieceHash(piece)
    if (at === undefined || want === undefined || data.length !== this.pieceSize(piece)) return false
    return equalHashes(pieceRoot(data, pieceSubtreeHeight(at.file.length, this.pieceLength)), want)
  }

  /**
   * What hashing `piece` on another thread needs: the height of its subtree (`pieceRoot`) and the
   * hash to compare with. Undefined while the piece's hash is not known.
   */
  pieceCheck (piece: number): { height: number, hash: Uint8Array, size: number } | undefined {
    const at = this.locate(piece)
    const hash = this.pieceHash(piece)
    if (at === undefined || hash === undefined) return undefined
    return { height: pieceSubtreeHeight(at.file.length, this.pieceLength), hash, size: this.pieceSize(piece) }
  }

  /**
   * The request for `piece`'s block hashes. Undefined: a one-block piece (`acceptBlockHashes(piece)`
   * with no message gives its hash), or a piece too large to ask in one request (verify it whole).
   */
  blockHashesRequest (piece: number): HashRequest | undefined {
    const at = this.locate(piece)
    return at === undefined ? undefined : blockHashesRequest(at.file, at.pieceInFile, this.pieceLength)
  }

  /**
   * The block hashes of `piece` from an answer to `blockHashesRequest(piece)`, once they hash up
   * to the piece hash; undefined when they do not (the sender lied) or do not answer that request.
   * For a one-block piece, call with no message: the piece hash is its block hash.
   */
  acceptBlockHashes (piece: number, m?: HashesMessage): readonly Uint8Array[] | undefined {
    const want = this.pieceHash(piece)
    if (want === undefined) return undefined
    const at = this.locate(piece) as { file: V2File }
    if (leavesPerPiece(at.file, this.pieceLength) === 1) return m === undefined ? [want] : undefined
    const req = this.blockHashesRequest(piece)
    if (req === undefined) return undefined
    if (m === undefined || !sameRequest(req, m)) return undefined
    const top = resolveHashes(m)
    return equalHashes(top.hash, want) ? m.hashes : undefined
  }

  /** One 16 KiB block (the last of a file may be short) against its verified block hash. */
  verifyBlock (blockHashes: readonly Uint8Array[], blockInPiece: number, data: Uint8Array): boolean {
    const want = blockHashes[blockInPiece]
    return want !== undefined && data.length > 0 && data.length <= BLOCK_SIZE && equalHashes(sha256(data), want)
  }
}

function hexOf (b: Uint8Array): string {
  return Buffer.from(b).toString('hex')
}
