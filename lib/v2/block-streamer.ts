/**
 * BEP 52 block streaming (v2-only torrents to stdout): each 16 KiB block of the pieces at the
 * output's head is checked alone against the file's merkle tree as it arrives, and a verified run
 * of blocks from the piece's start leaves for the reader at once (`PrefixSink.writePrefix`),
 * instead of one whole piece later. A block that fails names its sender exactly.
 *
 * - When requests for a head piece go to a peer (`willRequest`), that peer is first asked for the
 *   piece's block hashes (a hash request of layer 0, no uncles), proved once against the piece
 *   hash we trust (`V2PieceVerifier.acceptBlockHashes`). A one-block piece needs none.
 * - Blocks arriving after the hashes are checked before they are stored (`check`): a bad one is
 *   never stored, and its sender is blamed at once. Blocks stored before the hashes came are
 *   checked when they come; a bad one among those fails the whole-piece check, and then its
 *   sender is named from the hashes we hold (`pieceFailed`).
 * - Fallback: a reject, a lying answer or no answer within ANSWER_TIMEOUT_MS lets another peer be
 *   asked, at most MAX_ASKS peers a piece; after that the piece is verified whole, as always.
 *   The whole-piece check on the hashing thread runs for every piece either way: the merger skips
 *   the bytes a prefix already sent.
 *
 * Cost and bounds: SHA-256 of 16 KiB on the main thread (about 15 µs, bench/v2.ts), only for the
 * HEAD_PIECES pieces at the cursor, where latency matters; the rest stay whole-piece checks on the
 * worker. State is kept for those pieces only (their block hashes: 32 bytes a block).
 */
import type { Metainfo } from '../metainfo/types.js'
import { decodeHashes, decodeHashReject, encodeHashRequest, HashMessageId, type HashRequest } from '../wire/hash-messages.js'
import { BLOCK_SIZE } from './merkle.js'
import { V2PieceVerifier } from './piece-verifier.js'

/** Pieces from the cursor checked block by block: the one being read and the next. */
export const HEAD_PIECES = 2
/** Peers asked for one piece's block hashes before it is left to whole-piece verification. */
const MAX_ASKS = 2
/** A block-hash request unanswered this long counts as refused (libtorrent answers at once). */
const ANSWER_TIMEOUT_MS = 5000

/**
 * Process-wide switch, on by default: off, v2-only pieces are verified whole as before. For
 * benchmarks (bench/v2.ts compares time to first byte with and without) and A/B checks.
 */
export const blockStreaming = { enabled: true }

/** A sink that takes the verified first bytes of the cursor's piece (the merging Writable). */
export interface PrefixSink {
  writePrefix (index: number, piece: Uint8Array, end: number): void
}

export function canStreamPrefix (sink: unknown): sink is PrefixSink {
  return typeof sink === 'object' && sink !== null && typeof (sink as { writePrefix?: unknown }).writePrefix === 'function'
}

/** What the streamer reads of a piece being downloaded (an ActivePiece). */
export interface BlockSource {
  readonly index: number
  readonly length: number
  /** Detached (byteLength 0) while the piece is on the hashing thread. */
  readonly buffer: Uint8Array
  /** Per block: 2 once received (BlockState.received). */
  readonly state: Uint8Array
}

const RECEIVED = 2

export type BlockVerdict = 'good' | 'bad' | 'unchecked'

export interface BlockStreamerHooks<P> {
  /** The peer's wire connection, if it takes raw `{ type: 'unknown' }` messages. */
  readonly connectionOf: (peer: P) => unknown
  /** The piece being downloaded at `index`, if it is. */
  readonly activePiece: (index: number) => BlockSource | undefined
  /** A peer sent a bad block, or block hashes that do not prove: the engine bans it. */
  readonly blame: (peer: P, reason: string) => void
}

interface Head<P> {
  hashes: readonly Uint8Array[] | undefined
  asks: number
  pending: { readonly key: string, readonly peer: P, readonly at: number } | undefined
  /** Whose blocks `verified` describes: a failed piece starts again with a new source. */
  source: BlockSource | undefined
  verified: Uint8Array
}

interface RawWriter { write: (m: { type: 'unknown', id: number, payload: Uint8Array }) => unknown }

export class BlockStreamer<P extends object> {
  private readonly _verifier: V2PieceVerifier
  private readonly _sink: PrefixSink
  private readonly _hooks: BlockStreamerHooks<P>
  private readonly _heads = new Map<number, Head<P>>()
  /** Pending requests by key, to the head piece they answer. */
  private readonly _pending = new Map<string, number>()
  /** Peers that rejected a block-hash request: not asked again. */
  private readonly _refused = new WeakSet<P>()
  private _cursor: number
  /** Blocks hashed on the main thread (for tests and stats). */
  checked = 0

  constructor (verifier: V2PieceVerifier, sink: PrefixSink, cursor: number, hooks: BlockStreamerHooks<P>) {
    this._verifier = verifier
    this._sink = sink
    this._cursor = cursor
    this._hooks = hooks
  }

  /** A streamer for a v2-only torrent going to a sink that takes prefixes; undefined otherwise. */
  static for<P extends object> (meta: Metainfo, sink: unknown, cursor: number, hooks: BlockStreamerHooks<P>): BlockStreamer<P> | undefined {
    if (!blockStreaming.enabled || meta.version !== 'v2' || meta.pieceLayersStatus !== 'complete' || !canStreamPrefix(sink)) return undefined
    return new BlockStreamer<P>(new V2PieceVerifier(meta), sink, cursor, hooks)
  }

  /** The sink's cursor moved to `next`: older pieces are forgotten, the new head's prefix goes out. */
  cursorMoved (next: number): void {
    this._cursor = next
    for (const [index, head] of this._heads) {
      if (index >= next) continue
      if (head.pending !== undefined) this._pending.delete(head.pending.key)
      this._heads.delete(index)
    }
    this._pushPrefix(next)
  }

  /** Requests about to go to `peer`: first ask it for the block hashes of the head pieces among them. */
  willRequest (peer: P, reqs: readonly { readonly index: number }[], now: number): void {
    let last = -1
    for (const r of reqs) {
      if (r.index === last || !this._isHead(r.index)) continue
      last = r.index
      this._ask(r.index, peer, now)
    }
  }

  /** A block of piece `index` before it is stored: 'bad' (never store it; its sender is blamed). */
  check (peer: P, index: number, begin: number, block: Uint8Array): BlockVerdict {
    const head = this._heads.get(index)
    if (head?.hashes === undefined || begin % BLOCK_SIZE !== 0) return 'unchecked'
    const b = begin / BLOCK_SIZE
    this.checked++
    if (this._verifier.verifyBlock(head.hashes, b, block)) return 'good'
    this._hooks.blame(peer, `sent block ${b} of piece ${index}, which failed its BEP 52 block hash`)
    return 'bad'
  }

  /** A block was stored in its piece (after `check`): a verified one may extend the prefix. */
  stored (index: number, begin: number, verdict: BlockVerdict): void {
    if (verdict !== 'good') return
    const head = this._heads.get(index)
    const source = this._hooks.activePiece(index)
    if (head === undefined || source === undefined) return
    this._bind(head, source)
    head.verified[begin / BLOCK_SIZE] = 1
    this._pushPrefix(index)
  }

  /**
   * A piece failed its whole check. When it is a head piece whose block hashes we hold, each bad
   * block's sender is named now, without asking anyone (BlockBlame would ask). True when so.
   */
  pieceFailed (piece: { readonly index: number, readonly buffer: Uint8Array, readonly senders: readonly (P | undefined)[] }): boolean {
    const hashes = this._heads.get(piece.index)?.hashes
    if (hashes === undefined) return false
    const named = new Set<P>()
    for (let b = 0; b < piece.senders.length; b++) {
      const sender = piece.senders[b]
      if (sender === undefined || named.has(sender)) continue
      const block = piece.buffer.subarray(b * BLOCK_SIZE, Math.min(piece.buffer.byteLength, (b + 1) * BLOCK_SIZE))
      if (this._verifier.verifyBlock(hashes, b, block)) continue
      named.add(sender)
      this._hooks.blame(sender, `sent block ${b} of piece ${piece.index}, which failed its BEP 52 block hash`)
    }
    return true
  }

  /** A hash message (22 or 23). True when it answered one of our block-hash requests. */
  onMessage (peer: P, id: number, payload: Uint8Array): boolean {
    if (id !== HashMessageId.hashes && id !== HashMessageId.hashReject) return false
    let m
    try {
      m = id === HashMessageId.hashes ? decodeHashes(payload) : decodeHashReject(payload)
    } catch {
      return false
    }
    const key = keyOf(m)
    const index = this._pending.get(key)
    const head = index === undefined ? undefined : this._heads.get(index)
    if (index === undefined || head?.pending === undefined || head.pending.peer !== peer) return false
    this._pending.delete(key)
    head.pending = undefined
    if (id === HashMessageId.hashReject) { this._refused.add(peer); return true }
    const hashes = this._verifier.acceptBlockHashes(index, m as ReturnType<typeof decodeHashes>)
    if (hashes === undefined) {
      this._hooks.blame(peer, `sent block hashes of piece ${index} that do not hash up to its piece hash (BEP 52)`)
      return true
    }
    head.hashes = hashes
    this._checkStored(index, head)
    return true
  }

  private _isHead (index: number): boolean {
    return index >= this._cursor && index < this._cursor + HEAD_PIECES
  }

  private _head (index: number): Head<P> {
    let head = this._heads.get(index)
    if (head === undefined) {
      head = { hashes: undefined, asks: 0, pending: undefined, source: undefined, verified: new Uint8Array(0) }
      this._heads.set(index, head)
    }
    return head
  }

  private _ask (index: number, peer: P, now: number): void {
    const head = this._head(index)
    if (head.hashes !== undefined) return
    if (head.pending !== undefined) {
      if (now - head.pending.at < ANSWER_TIMEOUT_MS) return
      this._pending.delete(head.pending.key)
      head.pending = undefined
    }
    const request: HashRequest | undefined = this._verifier.blockHashesRequest(index)
    if (request === undefined) {
      // A one-block piece: its piece hash is its block hash. (Too large a piece: stays undefined.)
      head.hashes = this._verifier.acceptBlockHashes(index)
      if (head.hashes === undefined) head.asks = MAX_ASKS
      return
    }
    if (head.asks >= MAX_ASKS || this._refused.has(peer)) return
    const conn = this._hooks.connectionOf(peer)
    if (!canWriteRaw(conn)) return
    head.asks++
    const key = keyOf(request)
    head.pending = { key, peer, at: now }
    this._pending.set(key, index)
    conn.write({ type: 'unknown', id: HashMessageId.hashRequest, payload: encodeHashRequest(request) })
  }

  /** Hashes just came: check the blocks stored before them (a bad one is left to the whole-piece check). */
  private _checkStored (index: number, head: Head<P>): void {
    const source = this._hooks.activePiece(index)
    if (source === undefined || head.hashes === undefined || source.buffer.byteLength !== source.length) return
    this._bind(head, source)
    for (let b = 0; b < source.state.length; b++) {
      if (source.state[b] !== RECEIVED || head.verified[b] === 1) continue
      const block = source.buffer.subarray(b * BLOCK_SIZE, Math.min(source.length, (b + 1) * BLOCK_SIZE))
      this.checked++
      if (this._verifier.verifyBlock(head.hashes, b, block)) head.verified[b] = 1
    }
    this._pushPrefix(index)
  }

  private _bind (head: Head<P>, source: BlockSource): void {
    if (head.source === source) return
    head.source = source
    head.verified = new Uint8Array(source.state.length)
  }

  /** The cursor's piece: its verified blocks from the start go to the sink. */
  private _pushPrefix (index: number): void {
    if (index !== this._cursor) return
    const head = this._heads.get(index)
    const source = this._hooks.activePiece(index)
    if (head === undefined || source === undefined || head.source !== source || source.buffer.byteLength !== source.length) return
    let n = 0
    while (n < head.verified.length && head.verified[n] === 1) n++
    if (n === 0) return
    this._sink.writePrefix(index, source.buffer, Math.min(source.length, n * BLOCK_SIZE))
  }
}

function canWriteRaw (conn: unknown): conn is RawWriter {
  return typeof conn === 'object' && conn !== null && typeof (conn as { write?: unknown }).write === 'function' &&
    (conn as { destroyed?: boolean }).destroyed !== true
}

function keyOf (r: HashRequest): string {
  return `${Buffer.from(r.piecesRoot).toString('hex')}:${r.baseLayer}:${r.index}:${r.length}:${r.proofLayers}`
}
