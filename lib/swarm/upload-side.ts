/**
 * The download engine's upload side (disk mode): every peer of the swarm, dialed or dialing us,
 * gets an Uploader over our storage, and the Choker hands out the upload slots (BEP 3
 * tit-for-tat: ranked by what the peer gives us while we leech, by what we give it once we are
 * complete). A piece counts as ours only once it is on disk (`pieceWritten`), since the Uploader
 * reads it back from there; then every peer lacking it is told with `have`.
 *
 * The Swarm calls the four methods of `SwarmUpload` (open, onMessage, close, stop) and knows
 * nothing else of uploading; the stdout mode has no upload side at all.
 */
import { EventEmitter } from 'node:events'
import { Choker, type ChokerOptions } from '../seed/choker.js'
import { broadcastHave } from '../seed/have-broadcast.js'
import { ReadAhead } from '../seed/read-ahead.js'
import { ServedPeers } from '../seed/served-peers.js'
import type { PieceGeometry, PieceReader, UploaderOptions } from '../seed/uploader.js'
import type { StorageError } from '../util/errors.js'
import type { BitField } from '../wire/bitfield.js'
import type { Message } from '../wire/messages.js'
import type { PeerSession } from './peer-session.js'
import type { SwarmUpload, WirePeer } from './swarm.js'

export interface UploadSideOptions {
  readonly reader: PieceReader
  /** Our pieces on disk: shared with the listener and the dialer (the bitfield they send). */
  readonly have: BitField
  readonly geometry: PieceGeometry
  /** True once every wanted piece is ours: the choker then ranks by upload rate. */
  readonly complete: () => boolean
  readonly choker?: Omit<ChokerOptions, 'isSeed'>
  readonly uploader?: Omit<UploaderOptions, 'reader' | 'have' | 'geometry'>
  readonly now?: () => number
}

export interface UploadSideEvents {
  /** Our storage failed to read a block: the request was refused. */
  'read-error': [err: StorageError]
}

export class UploadSide extends EventEmitter<UploadSideEvents> implements SwarmUpload {
  readonly choker: Choker
  /** What the Uploaders read through: chunks of 256 KiB, a bounded few kept. */
  readonly readAhead: ReadAhead
  private readonly opts: UploadSideOptions
  private readonly peers: ServedPeers<PeerSession>
  private stopped = false

  constructor (opts: UploadSideOptions) {
    super()
    this.opts = opts
    const now = opts.now ?? Date.now
    this.choker = new Choker({ ...opts.choker, isSeed: opts.complete, now: opts.choker?.now ?? now })
    // One read-ahead for every peer: blocks come out of a chunk read once (lib/seed/read-ahead.ts).
    this.readAhead = new ReadAhead(opts.reader, opts.geometry)
    this.peers = new ServedPeers(this.choker, { ...opts.uploader, reader: this.readAhead, have: opts.have, geometry: opts.geometry }, now)
    this.peers.on('read-error', err => { this.emit('read-error', err) })
  }

  /** Piece bytes handed to peers, closed connections included (the announce's `uploaded`). */
  get uploaded (): number { return this.peers.uploaded }

  get peerCount (): number { return this.peers.size }

  /** Rechoke every 10 s until stop(). */
  start (): void {
    if (!this.stopped) this.choker.start()
  }

  open (session: PeerSession, peer: WirePeer): void {
    const conn = peer.connection
    // A peer without a wire connection (an engine test's fake) is downloaded from, never served.
    if (this.stopped || conn === undefined) return
    const now = this.opts.now ?? Date.now
    this.peers.add(session, conn, () => session.download.rate(now()))
  }

  /** The peer's request/cancel go to its Uploader; a change of interest may free or fill a slot. */
  onMessage (session: PeerSession, m: Message): void {
    const p = this.peers.get(session)
    if (p === undefined) return
    switch (m.type) {
      case 'request': case 'cancel': p.uploader.onMessage(m); return
      case 'interested': case 'notInterested': this.choker.fill(); return
      default:
    }
  }

  close (session: PeerSession): void {
    this.peers.remove(session)
  }

  /** Piece `index` is on disk: serve it from now on, and tell every peer that lacks it. */
  pieceWritten (index: number): number {
    if (this.opts.have.get(index)) return 0
    this.opts.have.set(index)
    if (this.stopped) return 0
    return broadcastHave([...this.peers.values()].map(p => p.conn), index)
  }

  /** The swarm stopped (its connections are closed by it): no more rechokes. */
  stop (): void {
    if (this.stopped) return
    this.stopped = true
    this.choker.stop()
    this.peers.clear()
  }
}
