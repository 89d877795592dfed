/**
 * Answers BEP 52 hash requests (id 21) from a torrent's piece layers: a `hashes` message (22)
 * with the base hashes and their uncles up to the root, or a `hash reject` (23) carrying the
 * request back. BEP 52: "Hash requests MUST be answered with either a 'hashes' or 'hash reject'
 * message."
 *
 * What we serve: layers at or above the piece layer of files longer than one piece (from
 * `Metainfo.pieceLayers`). Rejected: unknown roots, requests that do not fit the file's tree
 * (libtorrent's validate_hash_request rules), and leaf hashes (base layers below the piece
 * layer), which we do not hold.
 *
 * Bounds: every answer goes through `mayReply(conn)` (lib/seed/reply-gate.ts) like every other
 * answer, so a peer that asks without reading gets its answers dropped and then its connection
 * closed; one answer is at most MAX_HASHES_PAYLOAD_LENGTH bytes. Each file's upper layers are
 * built once, on its first request, and kept (bounded by the piece layers the torrent holds).
 */
import type { Metainfo } from '../metainfo/types.js'
import { mayReply, type ReplyLimits, type ReplyTarget } from '../seed/reply-gate.js'
import { ProtocolError } from '../util/errors.js'
import {
  decodeHashRequest, encodeHashes, encodeHashReject, HashMessageId, requestProblemForTree, uncleCount, type HashRequest
} from '../wire/hash-messages.js'
import { FileTreeHashes } from './file-tree-hashes.js'
import { splitHashes } from './merkle.js'

/** How a hash message goes out until the wire layer has its own types: as an unknown id. */
export interface RawWireMessage {
  readonly type: 'unknown'
  readonly id: number
  readonly payload: Uint8Array
}

export interface HashAnswer {
  readonly message: RawWireMessage
  /** Why it was rejected (for logs); undefined for a `hashes` answer. */
  readonly rejected?: string
}

/** A connection we can answer on (a PeerConnection is one). */
export interface HashReplyConnection extends ReplyTarget {
  write: (message: RawWireMessage) => unknown
}

export class HashResponder {
  private readonly _meta: Metainfo
  private readonly _files = new Map<string, { length: number, root: Uint8Array }>()
  private readonly _trees = new Map<string, FileTreeHashes>()
  private readonly _limits: ReplyLimits

  constructor (meta: Metainfo, limits: ReplyLimits = {}) {
    this._meta = meta
    this._limits = limits
    for (const f of meta.v2Files ?? []) {
      if (f.piecesRoot !== undefined) this._files.set(Buffer.from(f.piecesRoot).toString('hex'), { length: f.length, root: f.piecesRoot })
    }
  }

  /** The answer to one request: never throws. */
  answer (req: HashRequest): HashAnswer {
    const reject = (why: string): HashAnswer => ({ message: { type: 'unknown', id: HashMessageId.hashReject, payload: encodeHashReject(req) }, rejected: why })
    const key = Buffer.from(req.piecesRoot).toString('hex')
    const file = this._files.get(key)
    if (file === undefined) return reject('no file of this torrent has that pieces root')
    const tree = this._tree(key, file)
    if (tree === undefined) return reject('the piece layer of that file is not known here')
    const problem = requestProblemForTree(req, tree.height)
    if (problem !== undefined) return reject(problem)
    if (req.baseLayer < tree.lowest) return reject(`layer ${req.baseLayer} is below the lowest layer held (${tree.lowest})`)
    const hashes: Uint8Array[] = []
    for (let i = 0; i < req.length; i++) hashes.push(tree.node(req.baseLayer, req.index + i) as Uint8Array)
    const uncles: Uint8Array[] = []
    const count = uncleCount(req.length, req.proofLayers)
    let layer = req.baseLayer + Math.log2(req.length)
    let index = req.index / req.length
    for (let j = 0; j < count; j++, layer++, index = Math.floor(index / 2)) {
      uncles.push(tree.node(layer, index ^ 1) as Uint8Array)
    }
    return { message: { type: 'unknown', id: HashMessageId.hashes, payload: encodeHashes({ ...req, hashes, uncles }) } }
  }

  /**
   * A hash request's payload from `conn`: decoded (a malformed one closes the connection, as
   * every framing error does), answered through the reply gate. Returns the answer written, or
   * undefined when none was (dropped by the gate or the connection was closed).
   */
  onRequest (conn: HashReplyConnection, payload: Uint8Array): HashAnswer | undefined {
    let req: HashRequest
    try {
      req = decodeHashRequest(payload)
    } catch (err) {
      conn.destroy?.(err instanceof ProtocolError ? err : new ProtocolError(String(err)))
      return undefined
    }
    if (!mayReply(conn, this._limits)) return undefined
    const a = this.answer(req)
    conn.write(a.message)
    return a
  }

  private _tree (key: string, file: { length: number, root: Uint8Array }): FileTreeHashes | undefined {
    const cached = this._trees.get(key)
    if (cached !== undefined) return cached
    const pieceLength = this._meta.pieceLength
    const layer = this._meta.pieceLayers?.get(key)
    if (file.length > pieceLength && layer === undefined) return undefined
    const tree = new FileTreeHashes(file.root, file.length, pieceLength, layer === undefined ? [] : splitHashes(layer))
    this._trees.set(key, tree)
    return tree
  }
}
