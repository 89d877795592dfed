/**
 * A v2 magnet's piece layers from peers (BEP 52 hash requests): the info dict names each file's
 * pieces root only, so before any piece of a file longer than one piece can be checked, its
 * piece layer is asked for (512 hashes a request, with the proof up to the root) and each answer
 * is proved to the root before it is kept. `done` resolves with the Metainfo completed.
 *
 * The owner holds the connections (they must carry the truncated v2 hash: libtorrent answers
 * hash requests only there) and calls:
 * - `addPeer(conn)` once it is handshaken, `removePeer(conn)` when it closes;
 * - `onMessage(conn, id, payload)` for each message of id 22 (hashes) or 23 (hash reject);
 * - `destroy(err)` to give up (a pending `done` rejects with `err`).
 *
 * What a peer's behaviour costs: a reject, or silence for `requestTimeoutMs`, moves that request
 * to another peer (each peer is asked each request at most once); an answer that does not hash up to the pieces root, or does
 * not decode, is the peer's lie (`onBadPeer`, and it is asked nothing more). Memory: the layers
 * themselves (32 bytes a piece, what a .torrent would carry) and one entry per request in flight.
 */
import type { Metainfo } from '../metainfo/types.js'
import { decodeHashes, decodeHashReject, encodeHashRequest, HashMessageId, sameRequest, type HashRequest } from '../wire/hash-messages.js'
import { V2PieceVerifier } from './piece-verifier.js'

/**
 * Hash requests one peer holds at once: each answers up to 512 piece hashes (16 KiB with its
 * proof), so four cover 2048 pieces in one round trip and keep one slow peer from holding all.
 */
const MAX_IN_FLIGHT_PER_PEER = 4
/**
 * An answer not back by then: the request goes to another peer, as after a reject (a hash
 * answer is 16 KiB at most; a peer silent this long is not going to send it soon).
 */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

export interface LayerFetcherOptions<C> {
  /** Send one message (id 21) to a peer. */
  readonly send: (conn: C, id: number, payload: Uint8Array) => void
  /** A peer sent hashes that are wrong or malformed: the owner drops it. Must not throw. */
  readonly onBadPeer?: (conn: C, reason: string) => void
  /** A request unanswered this long is asked of another peer (default 10 s). */
  readonly requestTimeoutMs?: number
}

interface PeerState<C> {
  readonly conn: C
  readonly inFlight: HashRequest[]
  /** One timer per request in flight (cleared on its answer, or when the peer leaves). */
  readonly timers: Map<HashRequest, NodeJS.Timeout>
  /** Requests this peer rejected: not asked again. */
  readonly rejected: Set<HashRequest>
}

export class LayerFetcher<C> {
  readonly done: Promise<Metainfo>
  private readonly _meta: Metainfo
  private readonly _verifier: V2PieceVerifier
  private readonly _opts: LayerFetcherOptions<C>
  /** Requests not answered yet (in flight or waiting). */
  private readonly _todo: HashRequest[]
  private readonly _peers = new Map<C, PeerState<C>>()
  private _resolve!: (m: Metainfo) => void
  private _reject!: (err: Error) => void
  private _settled = false

  constructor (meta: Metainfo, opts: LayerFetcherOptions<C>) {
    this._meta = meta
    this._opts = opts
    this._verifier = new V2PieceVerifier(meta)
    this._todo = this._verifier.pieceLayerRequests()
    this.done = new Promise((resolve, reject) => { this._resolve = resolve; this._reject = reject })
    this.done.catch(() => {})
    this._checkDone()
  }

  /** Requests still unanswered. */
  get missing (): number { return this._todo.length }

  addPeer (conn: C): void {
    if (this._settled || this._peers.has(conn)) return
    this._peers.set(conn, { conn, inFlight: [], timers: new Map(), rejected: new Set() })
    this._schedule()
  }

  removePeer (conn: C): void {
    const p = this._peers.get(conn)
    if (p === undefined) return
    this._peers.delete(conn)
    clearTimers(p)
    this._schedule()
  }

  /** A message of id 22 or 23 from `conn`; false for any other id (not ours). */
  onMessage (conn: C, id: number, payload: Uint8Array): boolean {
    if (id !== HashMessageId.hashes && id !== HashMessageId.hashReject) return false
    const p = this._peers.get(conn)
    if (p === undefined || this._settled) return true
    if (id === HashMessageId.hashReject) {
      let r: HashRequest
      try { r = decodeHashReject(payload) } catch (err) { this._bad(p, `sent a malformed hash reject: ${(err as Error).message}`); return true }
      const asked = this._answered(p, r)
      if (asked !== undefined) p.rejected.add(asked)
      this._schedule()
      return true
    }
    let m
    try { m = decodeHashes(payload) } catch (err) { this._bad(p, `sent a malformed hashes message: ${(err as Error).message}`); return true }
    const asked = this._answered(p, m)
    // An answer to nothing we asked (or asked and then gave to another): ignored.
    if (asked === undefined) return true
    const result = this._verifier.addPieceLayerHashes(m)
    if (result !== 'stored') {
      this._bad(p, 'sent piece-layer hashes that do not hash up to the pieces root')
      return true
    }
    this._todo.splice(this._todo.indexOf(asked), 1)
    this._checkDone()
    this._schedule()
    return true
  }

  destroy (err: Error): void {
    if (this._settled) return
    this._settled = true
    for (const p of this._peers.values()) clearTimers(p)
    this._peers.clear()
    this._reject(err)
  }

  /** Why nothing came yet, for a deadline's message. */
  describe (): string {
    const rejectedByAll = this._todo.filter(r => this._peers.size > 0 && [...this._peers.values()].every(p => p.rejected.has(r))).length
    return `${this._todo.length} of the piece-layer requests unanswered from ${this._peers.size} connected peers` +
      (rejectedByAll > 0 ? ` (${rejectedByAll} rejected by every one: BEP 52 hash requests)` : '')
  }

  /** The request in flight at `p` that `m` answers, taken off (with its timer). */
  private _answered (p: PeerState<C>, m: HashRequest): HashRequest | undefined {
    const asked = take(p.inFlight, m)
    if (asked !== undefined) { clearTimeout(p.timers.get(asked)); p.timers.delete(asked) }
    return asked
  }

  private _bad (p: PeerState<C>, why: string): void {
    this._peers.delete(p.conn)
    clearTimers(p)
    this._opts.onBadPeer?.(p.conn, why)
    this._schedule()
  }

  private _checkDone (): void {
    if (this._settled || !this._verifier.hasAllPieceHashes()) return
    this._settled = true
    for (const p of this._peers.values()) clearTimers(p)
    const layers = this._verifier.pieceLayers() as Map<string, Uint8Array>
    this._resolve({ ...this._meta, pieceLayers: layers, pieceLayersStatus: 'complete' })
  }

  /** Each waiting request to a peer that has room and has not rejected it. */
  private _schedule (): void {
    if (this._settled) return
    const flying = new Set<HashRequest>()
    for (const p of this._peers.values()) for (const r of p.inFlight) flying.add(r)
    for (const r of this._todo) {
      if (flying.has(r)) continue
      let best: PeerState<C> | undefined
      for (const p of this._peers.values()) {
        if (p.rejected.has(r) || p.inFlight.length >= MAX_IN_FLIGHT_PER_PEER) continue
        if (best === undefined || p.inFlight.length < best.inFlight.length) best = p
      }
      if (best === undefined) continue
      best.inFlight.push(r)
      const peer = best
      const timer = setTimeout(() => {
        // Silent: as if it had rejected, so the request goes to another peer.
        if (this._answered(peer, r) === undefined) return
        peer.rejected.add(r)
        this._schedule()
      }, this._opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
      timer.unref()
      best.timers.set(r, timer)
      flying.add(r)
      this._opts.send(best.conn, HashMessageId.hashRequest, encodeHashRequest(r))
    }
  }
}

function clearTimers<C> (p: PeerState<C>): void {
  for (const t of p.timers.values()) clearTimeout(t)
  p.timers.clear()
}

/** Removes and returns the request in `list` that `m` answers (same fields). */
function take (list: HashRequest[], m: HashRequest): HashRequest | undefined {
  const i = list.findIndex(r => sameRequest(r, m))
  if (i < 0) return undefined
  return list.splice(i, 1)[0]
}
