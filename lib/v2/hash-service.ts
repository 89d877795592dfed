/**
 * BEP 52 hash requests from the peers we upload to, answered: the engine hands every message of
 * an id it does not know here, and a `hash request` (21) on a connection that can take raw
 * messages is answered by HashResponder (hashes 22 or hash reject 23, through the reply gate).
 * Only for torrents with v2 metadata whose piece layers we hold; others get nothing (a v1 peer
 * never asks). `hashes` and `hash reject` arriving unasked are ignored: we ask only while
 * fetching a magnet's layers (lib/v2/layer-fetcher.ts), before the engine starts.
 */
import type { Metainfo } from '../metainfo/types.js'
import { HashMessageId } from '../wire/hash-messages.js'
import { HashResponder, type HashReplyConnection } from './hash-responder.js'

export class HashService {
  private readonly _responder: HashResponder

  private constructor (meta: Metainfo) {
    this._responder = new HashResponder(meta)
  }

  /** A service for `meta`, or undefined when it has no v2 hashes to serve. */
  static for (meta: Metainfo): HashService | undefined {
    return meta.v2Files === undefined || meta.pieceLayersStatus !== 'complete' ? undefined : new HashService(meta)
  }

  /**
   * A message of an id the engine does not route (`unknown`), from `conn`. True when it was a
   * hash request (answered, or dropped by the reply gate).
   */
  onMessage (conn: unknown, id: number, payload: Uint8Array): boolean {
    if (id !== HashMessageId.hashRequest || !canWrite(conn)) return false
    this._responder.onRequest(conn, payload)
    return true
  }
}

/** The wire connection (a PeerConnection) takes raw `{ type: 'unknown' }` messages; fakes may not. */
function canWrite (conn: unknown): conn is HashReplyConnection {
  return typeof conn === 'object' && conn !== null && typeof (conn as { write?: unknown }).write === 'function'
}
