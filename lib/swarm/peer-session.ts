/**
 * One peer, as the downloader sees it: what it has, whether it chokes us, what we asked of it and
 * how fast it answers. It turns the peer's messages into picker and tracker updates and keeps the
 * peer's request pipeline full: the queue depth follows the peer's rate, the way libtorrent sizes
 * its request queue by time rather than by a fixed count.
 */
import type { ExtensionPeer } from '../extensions/extension-ids.js'
import { BitField } from '../wire/bitfield.js'
import type { Message } from '../wire/messages.js'
import type { BlockRequest } from '../pieces/active-piece.js'
import type { PiecePicker } from '../pieces/piece-picker.js'
import { BLOCK_LENGTH } from '../pieces/active-piece.js'
import { RateMeter } from '../util/rate.js'
import type { PeerAddress } from './peer-pool.js'

/** What the session sends through: the peer connection's one-method-per-message side. */
export interface PeerLink {
  /** Both sides set the BEP 6 bit. */
  readonly fast: boolean
  /** The peer's BEP 10 `reqq`, once its extension handshake arrived. */
  readonly reqq: number | undefined
  /** The connection as the BEP 10 extensions (PEX, metadata) see it. */
  readonly extensionPeer: ExtensionPeer
  interested (): void
  notInterested (): void
  request (index: number, begin: number, length: number): void
  /** Several requests in one write (one buffer, one queue entry); `request` each when absent. */
  requestMany? (reqs: readonly BlockRequest[]): void
  cancel (index: number, begin: number, length: number): void
  destroy (err?: Error): void
  /**
   * The peer has not read what we sent (lib/seed/reply-gate.ts): requests to it would only pile
   * up in our memory. Absent on engine tests' fakes.
   */
  backlogged? (): boolean
}

/** Seconds of transfer a peer's request queue should cover (libtorrent's request_queue_time). */
export const QUEUE_SECONDS = 2
/** Requests in flight when we know nothing of the peer's rate yet. */
const INITIAL_QUEUE = 32
const MIN_QUEUE = 4
/** Without a `reqq` from the peer, assume libtorrent's default. */
const DEFAULT_REQQ = 250
/** Never more than this in flight to one peer, whatever it claims. */
const MAX_QUEUE = 1000

export class PeerSession {
  readonly addr: PeerAddress
  readonly link: PeerLink
  readonly pieces: BitField
  /** BEP 6 have-all: a seed counted once by the picker rather than per piece. */
  seed = false
  peerChoking = true
  amInterested = false
  readonly download: RateMeter
  /** Bytes of blocks we took from this peer (verified or not). */
  received = 0
  /** Hash failures its blocks were part of. */
  strikes = 0
  /** Verified pieces it sent blocks of: an honest peer's answer to strikes shared with a liar. */
  verifiedShares = 0
  lastVerifiedShare = -1
  /** When the peer last sent us a block we wanted, for snub detection. */
  lastBlockAt: number
  snubbed = false
  /** Requests released for lack of an answer in time. */
  timeouts = 0
  /** It dialed us: `addr` is its outgoing port, not where it listens. */
  incoming = false

  constructor (addr: PeerAddress, link: PeerLink, pieceCount: number, now: number = Date.now()) {
    this.addr = addr
    this.link = link
    this.pieces = new BitField(pieceCount)
    this.download = new RateMeter(now)
    this.lastBlockAt = now
  }

  /** The picker's view: does the peer have `index`? */
  has (index: number): boolean {
    return this.seed || this.pieces.get(index)
  }

  /**
   * How many requests should be in flight: enough to cover QUEUE_SECONDS at the peer's current
   * rate, capped by its reqq. A snubbed peer gets one, so it can prove itself without holding much.
   */
  targetQueue (now: number, seconds: number = QUEUE_SECONDS): number {
    if (this.snubbed) return 1
    const rate = this.download.rate(now)
    const byRate = rate === 0 ? INITIAL_QUEUE : Math.ceil(rate * seconds / BLOCK_LENGTH)
    return Math.max(MIN_QUEUE, Math.min(byRate, this.link.reqq ?? DEFAULT_REQQ, MAX_QUEUE))
  }

  /**
   * Count what the peer has into the picker's availability: a full bitfield as a seed (once, not
   * per piece), anything else piece by piece.
   */
  announcePieces (picker: PiecePicker): void {
    if (this.pieces.hasAll()) {
      this.seed = true
      picker.addSeed()
    } else {
      picker.addBitfield(this)
    }
  }

  /** A bitfield from the peer, first or late: merged into what it told us before. */
  mergePieces (picker: PiecePicker, bitfield: Uint8Array): void {
    const wasSeed = this.seed
    this.withdrawPieces(picker)
    if (wasSeed) this.pieces.setAll()
    else this.pieces.merge(bitfield)
    this.announcePieces(picker)
  }

  /** Take what the peer had back out of the picker's availability (it left, or sent have-none). */
  withdrawPieces (picker: PiecePicker): void {
    if (this.seed) {
      picker.removeSeed()
      this.seed = false
    } else if (this.pieces.count() > 0) {
      picker.removeBitfield(this)
    }
  }

  sendRequests (reqs: readonly BlockRequest[]): void {
    if (reqs.length > 1 && this.link.requestMany !== undefined) this.link.requestMany(reqs)
    else for (const r of reqs) this.link.request(r.index, r.begin, r.length)
  }

  setInterested (want: boolean): void {
    if (want === this.amInterested) return
    this.amInterested = want
    if (want) this.link.interested()
    else this.link.notInterested()
  }

  /** The message types that change what the peer has; others are the engine's. */
  static isAvailability (m: Message): boolean {
    return m.type === 'have' || m.type === 'bitfield' || m.type === 'haveAll' || m.type === 'haveNone'
  }
}
