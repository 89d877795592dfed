/**
 * The engine's BEP 52 hash traffic, in one place: the engine hands every message of an id it
 * does not know here (`onMessage`), and every failed piece (`pieceFailed`).
 *
 * - A `hash request` (21) from a peer on a connection that can take raw messages is answered by
 *   HashResponder (hashes 22 or hash reject 23, through the reply gate): for torrents with v2
 *   metadata whose piece layers we hold.
 * - A v2-only piece that failed with several senders: its block hashes are asked of a peer
 *   (BlockBlame), and the answer names the sender of each bad block, for the engine to ban.
 *   That peer's answer is proved to the piece hash first: a lying answer is its sender's fault.
 */
import type { Metainfo } from '../metainfo/types.js'
import { encodeHashRequest, HashMessageId } from '../wire/hash-messages.js'
import { BlockBlame, type FailedPiece } from './block-blame.js'
import { HashResponder, type HashReplyConnection } from './hash-responder.js'
import { V2PieceVerifier } from './piece-verifier.js'

export interface HashServiceHooks<P> {
  /** The peer's wire connection (a PeerConnection takes raw `{ type: 'unknown' }` messages). */
  readonly connectionOf: (peer: P) => unknown
  /** A peer sent a bad block, or hashes that do not prove: the engine bans it. */
  readonly blame: (peer: P, reason: string) => void
}

export class HashService<P> {
  private readonly _responder: HashResponder
  private readonly _blame: BlockBlame<P> | undefined
  private readonly _hooks: HashServiceHooks<P>
  /** Who we asked for each failed piece's block hashes: their answer is theirs to account for. */
  private readonly _asked = new Map<number, P>()

  private constructor (meta: Metainfo, hooks: HashServiceHooks<P>) {
    this._responder = new HashResponder(meta)
    this._blame = meta.version === 'v2' ? new BlockBlame<P>(new V2PieceVerifier(meta)) : undefined
    this._hooks = hooks
  }

  /** A service for `meta`, or undefined when it has no v2 hashes (a v1 torrent, or layers missing). */
  static for<P> (meta: Metainfo, hooks: HashServiceHooks<P>): HashService<P> | undefined {
    return meta.v2Files === undefined || meta.pieceLayersStatus !== 'complete' ? undefined : new HashService(meta, hooks)
  }

  /** A message of an id the engine does not route (`unknown`). True when it was ours. */
  onMessage (peer: P, id: number, payload: Uint8Array): boolean {
    if (id === HashMessageId.hashRequest) {
      const conn = this._hooks.connectionOf(peer)
      if (canWrite(conn)) this._responder.onRequest(conn, payload)
      return true
    }
    if (id !== HashMessageId.hashes && id !== HashMessageId.hashReject) return false
    if (this._blame === undefined) return true
    let r
    try {
      r = this._blame.onMessage(id, payload)
    } catch (err) {
      this._hooks.blame(peer, `sent a malformed BEP 52 hash message: ${(err as Error).message}`)
      return true
    }
    if (r === undefined) return true
    const asked = this._asked.get(r.index)
    this._asked.delete(r.index)
    if (r.kind === 'mismatch' && asked === peer) this._hooks.blame(peer, `sent block hashes of piece ${r.index} that do not hash up to its piece hash (BEP 52)`)
    if (r.kind === 'blamed') {
      for (const [liar, block] of r.liars) this._hooks.blame(liar, `sent block ${block} of piece ${r.index}, which failed its BEP 52 block hash`)
    }
    return true
  }

  /**
   * A piece failed its check. With several senders (v2-only), its block hashes are asked of one
   * of `peers` that did not send it, if there is one (else of any), to name the bad block's sender.
   */
  pieceFailed (piece: FailedPiece<P>, peers: Iterable<P>): void {
    const request = this._blame?.failed(piece)
    if (request === undefined) return
    let pick: P | undefined
    for (const p of peers) {
      if (!canWrite(this._hooks.connectionOf(p))) continue
      if (pick === undefined || (piece.senders.includes(pick) && !piece.senders.includes(p))) pick = p
    }
    if (pick === undefined) return
    this._asked.set(piece.index, pick)
    const conn = this._hooks.connectionOf(pick) as HashReplyConnection
    conn.write({ type: 'unknown', id: HashMessageId.hashRequest, payload: encodeHashRequest(request) })
  }
}

function canWrite (conn: unknown): conn is HashReplyConnection {
  return typeof conn === 'object' && conn !== null && typeof (conn as { write?: unknown }).write === 'function'
}
