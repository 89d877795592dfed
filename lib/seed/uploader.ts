import type { RateLimiter } from '../util/rate-limiter.js'
import { EventEmitter } from 'node:events'
import type { Metainfo } from '../metainfo/types.js'
import { ProtocolError, StorageError } from '../util/errors.js'
import { RateMeter } from '../util/rate.js'
import type { BitField } from '../wire/bitfield.js'
import { MAX_BLOCK_LENGTH, type Message } from '../wire/messages.js'
import { HeldRequests, type HeldBlock } from './held-requests.js'
import { ownCopy, PinWindow } from './pin-window.js'
import { mayReply, type ReplyLimits } from './reply-gate.js'

/**
 * The upload side of one PeerConnection: answers the peer's `request`s while we unchoke it.
 *
 *   request: <len=0x000D><id=6><index><begin><length>
 *   piece:   <len=0x0009+X><id=7><index><begin><block>
 *   cancel:  <len=0x000D><id=8><index><begin><length>
 *   reject:  <len=0x000D><id=0x10><index><begin><length>   (BEP 6)
 *
 * The engine reads the connection and hands us the peer's messages (`onMessage`); we only write.
 * Refused requests (choked, a piece we lack, a range outside the piece, a block of 0 or more than
 * 16 KiB, one we hold already, a full queue) get a BEP 6 reject when fast is negotiated and are
 * dropped otherwise (BEP 6: "every request is guaranteed to result in EXACTLY ONE response").
 *
 * Backpressure: requests are held as small entries (`maxQueued`, 8192 by default, far above the
 * `reqq` of 250 we advertise, because rtorrent sends 8192 at once whatever we advertise); a block
 * is read from disk only when its turn comes, at most `maxReading` reads in flight, and none
 * starts while the connection is backpressured (`piece()` returned false, until 'drain'). So a
 * peer that does not read costs us at most its held entries and a few blocks.
 *
 * Without BEP 6 a request we cannot hold must not be lost for ever (the peer would wait for it
 * with the connection open): it is dropped, and once everything we held was answered we send
 * choke then unchoke, which per BEP 3 discards the peer's outstanding requests, so it asks
 * again for what it still lacks.
 *
 * Bounds: refusals are strikes (a full queue only while the peer does not read what we sent),
 * each served block forgives one: a peer past `floodLimit` strikes is destroyed with a
 * ProtocolError. Every reject and the choke/unchoke above pass the reply gate
 * (reply-gate.ts): a peer that does not read what we sent gets nothing more queued.
 */
export interface PieceReader {
  /**
   * Resolves with exactly `length` bytes of piece `index` from `begin`, or rejects. The bytes may
   * be a view into a larger buffer the reader shares (read-ahead.ts): never written to, and the
   * Uploader bounds how many such buffers one connection keeps alive (pin-window.ts).
   */
  read (index: number, begin: number, length: number): Promise<Uint8Array>
  /**
   * A hint: this block will be asked for soon (it waits in a peer's queue). A reader that reads
   * ahead may start reading it now, so the answer does not wait for the disk; others ignore it.
   */
  prefetch? (index: number, begin: number, length: number): void
  /**
   * The block's bytes if they are in memory now (no I/O, no promise), else undefined and the
   * Uploader calls `read`. What the read-ahead answers nearly every block with: one map lookup
   * instead of a promise, two closures and a microtask per 16 KiB.
   */
  readNow? (index: number, begin: number, length: number): Uint8Array | undefined
  /**
   * Whether `readNow` would answer this block now, without lending it. While reads are on their
   * way, a block in memory behind them waits for them rather than joining them (a promise and
   * its microtasks per 16 KiB): once they land, it and those after it go by `readNow`.
   */
  inMemory? (index: number, begin: number, length: number): boolean
  /**
   * Reads `into.length` bytes of piece `index` from `begin` into `into`: a reader over this one
   * that recycles its buffers (read-ahead.ts) reads with it instead of `read`.
   */
  readInto? (index: number, begin: number, into: Uint8Array): Promise<void>
  /**
   * The caller is done with a block `read` or `readNow` returned: nothing holds its bytes any
   * more (the socket wrote them, or they were dropped), so a reader that recycles its buffers may
   * reuse them. Called at most once per block returned, and only when that is certain; a block
   * never released is left to the garbage collector.
   */
  release? (block: Uint8Array): void
}

/** What the uploader needs of a PeerConnection (which is one): tests drive it with a fake. */
export interface UploadConnection {
  readonly amChoking: boolean
  readonly fastEnabled: boolean
  choke (): boolean
  unchoke (): boolean
  /**
   * `sent`, if given, is called once the connection and its transport hold the block's bytes no
   * more, or never (a transport that cannot tell): only then may the block's buffer be reused.
   */
  piece (index: number, begin: number, block: Uint8Array, sent?: () => void): boolean
  reject (index: number, begin: number, length: number): boolean
  destroy (err?: Error): void
  once (event: 'drain' | 'close', fn: () => void): unknown
}

export type PieceGeometry = Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'lastPieceLength'>

/** Bytes of piece `index` a peer may ask for: the last piece is `lastPieceLength`. */
export function pieceLengthIn (g: PieceGeometry, index: number): number {
  return index === g.pieceCount - 1 ? g.lastPieceLength : g.pieceLength
}

export interface UploaderOptions {
  readonly reader: PieceReader
  /** Our verified pieces: shared, the engine sets bits as pieces verify. */
  readonly have: BitField
  readonly geometry: PieceGeometry
  /** Requests held per peer, read or not (default 8192: rtorrent's burst). */
  readonly maxQueued?: number
  /** Strikes before the peer is dropped (default 2 × maxQueued). */
  readonly floodLimit?: number
  /** Disk reads in flight per peer (default 4: 64 KiB, enough to keep one socket busy). */
  readonly maxReading?: number
  /** The reply gate's bounds for our rejects (default: reply-gate.ts). */
  readonly replyLimits?: ReplyLimits
  /** `maxUploadRate`: one bucket shared by every peer of the session (lib/util/rate-limiter.ts). */
  readonly rateLimiter?: RateLimiter
  readonly now?: () => number
}

export interface UploaderEvents {
  /** Our reader failed: a storage problem, not the peer's. The request was rejected or dropped. */
  'read-error': [err: StorageError]
}

/** Why a request was refused, for tests and logs. */
export type RefusalReason = 'choked' | 'missing piece' | 'bad length' | 'bad range' | 'duplicate' | 'queue full'

interface BlockRef { readonly index: number, readonly begin: number, readonly length: number }

/**
 * rtorrent 0.9.8 sends 8192 requests at once (it ignores `reqq`). Held, each costs about 100
 * bytes (an entry and its index), so 800 KiB per peer at the very most.
 */
export const DEFAULT_MAX_QUEUED = 8192
/** 4 blocks of 16 KiB: enough to keep one socket busy while the next read is on its way. */
const DEFAULT_MAX_READING = 4
/**
 * Held requests this far behind the one being read are announced to the reader (`prefetch`):
 * 32 blocks, 512 KiB, two read-ahead chunks, so a peer asking a deep queue (libtorrent keeps
 * hundreds of requests out) finds its next chunk read already when its turn comes, rather than
 * its socket running dry while the disk answers.
 */
const PREFETCH_DISTANCE = 32
/** Refusals not paid back by served blocks, as a multiple of what we hold: room for a peer's burst. */
const FLOOD_FACTOR = 2

export class Uploader extends EventEmitter<UploaderEvents> {
  readonly conn: UploadConnection
  /** Refusals by reason since the connection opened. */
  readonly refused: Record<RefusalReason, number> = { choked: 0, 'missing piece': 0, 'bad length': 0, 'bad range': 0, duplicate: 0, 'queue full': 0 }
  private readonly _opts: UploaderOptions
  private readonly _maxQueued: number
  private readonly _floodLimit: number
  private readonly _maxReading: number
  private readonly _now: () => number
  private readonly _meter: RateMeter
  private readonly _held: HeldRequests
  private readonly _reading = new Set<HeldBlock>()
  /** Which read-ahead chunks the blocks we wrote and the socket may not have taken yet keep alive. */
  private readonly _pins = new PinWindow()
  private _awaitingDrain = false
  private _strikes = 0
  /** Without BEP 6: a request was dropped for want of room; the peer must be made to ask again. */
  private _lost = false
  private _closed = false
  /** Waiting for the upload limit's bucket: forgets the wait when the peer goes. */
  private _cancelWait: (() => void) | undefined

  constructor (conn: UploadConnection, opts: UploaderOptions) {
    super()
    this.conn = conn
    this._opts = opts
    this._maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED
    this._floodLimit = opts.floodLimit ?? FLOOD_FACTOR * this._maxQueued
    this._maxReading = opts.maxReading ?? DEFAULT_MAX_READING
    this._now = opts.now ?? Date.now
    this._meter = new RateMeter(this._now())
    this._held = new HeldRequests(opts.geometry.pieceLength)
    conn.once('close', () => { this._close() })
  }

  /** Piece bytes handed to the connection. */
  get uploaded (): number { return this._meter.total }
  /** Bytes/s over the last few seconds. */
  uploadRate (): number { return this._meter.rate(this._now()) }
  /** Requests held, read or not. */
  get pending (): number { return this._held.size + this._reading.size }
  get choking (): boolean { return this.conn.amChoking }

  /** A message the peer sent: `request` and `cancel` matter here, the rest is ignored. */
  onMessage (m: Message): void {
    if (this._closed) return
    if (m.type === 'request') this._onRequest(m)
    else if (m.type === 'cancel') this._onCancel(m)
  }

  unchoke (): void {
    if (this._closed || !this.conn.amChoking) return
    this.conn.unchoke()
  }

  /**
   * BEP 6: "A peer SHOULD choke first and then reject requests so that the peer receiving the
   * choke does not re-request the pieces." Reads in flight are answered now too; their data is
   * thrown away when it arrives.
   */
  choke (): void {
    if (this._closed || this.conn.amChoking) return
    this.conn.choke()
    // BEP 3: the peer discards its requests on a choke, the lost ones included.
    this._lost = false
    for (const b of this._held.clear()) this._reject(b)
    for (const b of this._reading) {
      if (b.dropped) continue
      b.dropped = true
      this._reject(b)
    }
  }

  private _onRequest (r: BlockRef): void {
    const reason = this._check(r)
    if (reason !== undefined) { this._refuse(r, reason); return }
    this._held.push(r.index, r.begin, r.length)
    this._pump()
  }

  private _check (r: BlockRef): RefusalReason | undefined {
    if (this.conn.amChoking) return 'choked'
    if (!this._opts.have.get(r.index)) return 'missing piece'
    if (!Number.isInteger(r.length) || r.length < 1 || r.length > MAX_BLOCK_LENGTH) return 'bad length'
    if (!Number.isInteger(r.begin) || r.begin < 0 || r.begin + r.length > this._pieceLength(r.index)) return 'bad range'
    if (this._held.has(r.index, r.begin)) return 'duplicate'
    if (this.pending >= this._maxQueued) return 'queue full'
    return undefined
  }

  /**
   * A full queue is a strike only while the peer is not reading what we sent (we are waiting for
   * 'drain'): a client that merely asks for more than we hold at once (rtorrent) and reads is not
   * a flooder; one that asks for more while not reading is.
   */
  private _refuse (r: BlockRef, reason: RefusalReason): void {
    this.refused[reason]++
    const strike = reason !== 'queue full' || this._awaitingDrain
    if (strike && ++this._strikes > this._floodLimit) {
      this.conn.destroy(new ProtocolError(`request flood: more than ${this._floodLimit} refused requests (last: ${reason}, piece ${r.index} ${r.begin}+${r.length})`))
      this._close()
      return
    }
    if (this.conn.fastEnabled) this._reject(r)
    else if (reason === 'queue full') this._lost = true
  }

  /** BEP 6 reject, when negotiated and the peer reads what we send (the reply gate). */
  private _reject (r: BlockRef): void {
    if (this.conn.fastEnabled && mayReply(this.conn, this._opts.replyLimits)) this.conn.reject(r.index, r.begin, r.length)
  }

  /**
   * BEP 6: "Even when a request is cancelled, the peer receiving the cancel should respond with
   * either the corresponding reject or the corresponding piece": a queued one is rejected, one
   * being read is sent. Without BEP 6 the answer is silence in both cases.
   */
  private _onCancel (c: BlockRef): void {
    if (this._held.remove(c.index, c.begin, c.length) !== undefined) {
      this._reject(c)
      this._pump()
      return
    }
    if (this.conn.fastEnabled) return
    for (const b of this._reading) {
      if (b.index === c.index && b.begin === c.begin && b.length === c.length && !b.dropped) { b.dropped = true; return }
    }
  }

  private _pump (): void {
    const limiter = this._opts.rateLimiter
    const reader = this._opts.reader
    while (!this._closed && !this._awaitingDrain && this._reading.size < this._maxReading) {
      if (limiter !== undefined && this._held.size > 0 && limiter.available() <= 0) {
        // Over the upload limit: the next block is read when the shared bucket allows it.
        this._cancelWait ??= limiter.whenAvailable(() => { this._cancelWait = undefined; this._pump() })
        return
      }
      if (this._reading.size > 0 && reader.inMemory !== undefined) {
        // In order, and without a promise per block: the reads before it land first.
        const first = this._held.peekAt(0)
        if (first !== undefined && reader.inMemory(first.index, first.begin, first.length)) return
      }
      const b = this._held.shift()
      if (b === undefined) { this._askAgain(); return }
      limiter?.take(b.length)
      const next = this._held.peekAt(PREFETCH_DISTANCE - 1)
      if (next !== undefined) reader.prefetch?.(next.index, next.begin, next.length)
      // In memory, and nothing read before it still on its way: answered now, in order.
      const now = this._reading.size === 0 ? reader.readNow?.(b.index, b.begin, b.length) : undefined
      if (now !== undefined) { this._send(b, now); continue }
      this._reading.add(b)
      let p: Promise<Uint8Array>
      try {
        p = reader.read(b.index, b.begin, b.length)
      } catch (err) {
        p = Promise.reject(err)
      }
      p.then((data) => { this._onRead(b, data) }, (err: unknown) => { this._onReadError(b, err) })
    }
  }

  /**
   * Without BEP 6, once every request we held was answered: if one was dropped for want of room,
   * choke then unchoke (BEP 3: "When a peer is choked, all pending requests are discarded"), so
   * the peer asks again for what it lacks instead of waiting for ever.
   */
  private _askAgain (): void {
    if (!this._lost || this._reading.size > 0 || this.conn.amChoking) return
    if (!mayReply(this.conn, this._opts.replyLimits)) return
    this._lost = false
    this.conn.choke()
    this.conn.unchoke()
  }

  private _onRead (b: HeldBlock, data: Uint8Array): void {
    this._reading.delete(b)
    if (this._closed || b.dropped) { this._opts.reader.release?.(data); this._pump(); return }
    this._send(b, data)
    this._pump()
  }

  /** Writes the block, or refuses it when the reader returned the wrong number of bytes. */
  private _send (b: HeldBlock, data: Uint8Array): void {
    const reader = this._opts.reader
    if (data.length !== b.length) {
      reader.release?.(data)
      this._onReadError(b, new StorageError(`read of piece ${b.index} ${b.begin}+${b.length} returned ${data.length} bytes`), false)
      return
    }
    let ok: boolean
    if (!this._pins.admit(data)) {
      const copy = ownCopy(data)
      reader.release?.(data)
      ok = this.conn.piece(b.index, b.begin, copy)
    } else if (reader.release === undefined) {
      ok = this.conn.piece(b.index, b.begin, data)
    } else {
      // The reader gets its buffer back once the socket wrote the block (or never, if the
      // connection cannot tell: the buffer is then the garbage collector's).
      ok = this.conn.piece(b.index, b.begin, data, () => { reader.release?.(data) })
    }
    this._meter.add(b.length, this._now())
    if (this._strikes > 0) this._strikes--
    if (!ok && !this._awaitingDrain) {
      this._awaitingDrain = true
      this.conn.once('drain', () => { this._awaitingDrain = false; this._pump() })
    }
  }

  private _onReadError (b: HeldBlock, err: unknown, wasReading = true): void {
    if (wasReading) this._reading.delete(b)
    if (this._closed) return
    if (!b.dropped) this._reject(b)
    const e = err instanceof StorageError ? err : new StorageError(`cannot read piece ${b.index} ${b.begin}+${b.length}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    this.emit('read-error', e)
    this._pump()
  }

  private _pieceLength (index: number): number {
    return pieceLengthIn(this._opts.geometry, index)
  }

  private _close (): void {
    if (this._closed) return
    this._closed = true
    this._cancelWait?.()
    this._held.clear()
    for (const b of this._reading) b.dropped = true
  }
}
