import { mayReply, type ReplyLimits, type ReplyTarget } from '../seed/reply-gate.js'
import { peerExtensionId, type ExtensionPeer } from './extension-ids.js'
import { decodeUtMetadata, encodeUtMetadata, metadataPieceCount, metadataPieceLength, METADATA_PIECE_LENGTH } from './ut-metadata-codec.js'

/**
 * Answers other peers' BEP 9 requests: `request` → `data` (with total_size) when we hold the
 * verified info dict, `reject` when we do not (BEP 9: a peer without the entire metadata MUST
 * reject), when the index is out of range, or when the peer asked too often.
 *
 * The engine hands over every extended message that arrived on our ut_metadata id
 * (`onExtended`); data and reject messages are the fetcher's business and are ignored here.
 *
 * Bounds: data is sent at most `servedFactor × pieces` times per connection; every answer, data
 * or reject, first asks the reply gate (lib/seed/reply-gate.ts): a peer that does not read
 * what we sent gets nothing more queued (its request is dropped), and is disconnected if it keeps
 * asking. So one peer costs us at most the gate's cap, however many requests it writes.
 */
export interface MetadataResponderOptions {
  /** The verified info dict bytes (its SHA-1 is the info hash); omit while we are fetching it. */
  readonly infoBytes?: Uint8Array
  /**
   * BEP 9 flood protection: requests served per connection, as a multiple of the piece count.
   * Each answer is up to 16 KiB queued on the connection, so this bounds what one peer can
   * make us buffer to `factor × metadata size`.
   */
  readonly servedFactor?: number
  /** The reply gate's bounds (default: lib/seed/reply-gate.ts). */
  readonly replyLimits?: ReplyLimits
}

export const DEFAULT_SERVED_FACTOR = 4

export class MetadataResponder {
  private _info: Uint8Array | undefined
  private readonly _factor: number
  private readonly _limits: ReplyLimits
  private readonly _served = new WeakMap<ExtensionPeer, number>()

  constructor (opts: MetadataResponderOptions = {}) {
    this._info = opts.infoBytes
    this._factor = opts.servedFactor ?? DEFAULT_SERVED_FACTOR
    this._limits = opts.replyLimits ?? {}
  }

  /** The metadata arrived (magnet) and was verified: from now on we serve it. */
  setMetadata (infoBytes: Uint8Array): void {
    this._info = infoBytes
  }

  get metadataSize (): number | undefined { return this._info?.length }

  /**
   * An extended message on our ut_metadata id. Returns false (and sends nothing) for what it
   * ignores: malformed payloads, non-requests, peers that did not advertise ut_metadata. A
   * request the gate drops (the peer has not read our earlier answers) returns true, unanswered.
   */
  onExtended (conn: ExtensionPeer & ReplyTarget, payload: Uint8Array): boolean {
    let msg
    try {
      msg = decodeUtMetadata(payload)
    } catch {
      return false
    }
    if (msg.type !== 'request') return false
    const id = peerExtensionId(conn, 'ut_metadata')
    if (id === undefined || conn.destroyed === true) return false
    if (!mayReply(conn, this._limits)) return true
    const piece = msg.piece
    const info = this._info
    const served = this._served.get(conn) ?? 0
    if (info === undefined || piece >= metadataPieceCount(info.length) || served >= this._factor * metadataPieceCount(info.length)) {
      conn.extended(id, encodeUtMetadata({ type: 'reject', piece }))
      return true
    }
    this._served.set(conn, served + 1)
    const begin = piece * METADATA_PIECE_LENGTH
    const data = info.subarray(begin, begin + metadataPieceLength(info.length, piece))
    conn.extended(id, encodeUtMetadata({ type: 'data', piece, totalSize: info.length, data }))
    return true
  }
}
