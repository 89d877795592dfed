/**
 * The peers we upload to, as the swarm's upload side (lib/swarm/upload-side.ts, for every mode:
 * disk download, seed, serve) keeps them: an Uploader each, a view of it in the Choker, and the
 * bytes uploaded (connections that closed included, for the trackers' `uploaded`).
 */
import { EventEmitter } from 'node:events'
import type { StorageError } from '../util/errors.js'
import type { Choker, ChokerPeer } from './choker.js'
import type { HaveTarget } from './have-broadcast.js'
import { Uploader, type UploadConnection, type UploaderOptions } from './uploader.js'

/** What serving a peer needs of its connection: a PeerConnection is one. */
export interface ServedConnection extends UploadConnection, HaveTarget {
  readonly peerInterested: boolean
}

export interface ServedPeer<C extends ServedConnection = ServedConnection> {
  readonly conn: C
  readonly uploader: Uploader
  readonly view: ChokerPeer
}

interface ServedPeersEvents {
  /** Our storage failed to read a block: the request was refused. */
  'read-error': [err: StorageError]
}

export class ServedPeers<K, C extends ServedConnection = ServedConnection> extends EventEmitter<ServedPeersEvents> {
  private readonly peers = new Map<K, ServedPeer<C>>()
  private uploadedByClosed = 0

  constructor (private readonly choker: Choker, private readonly uploaderOpts: UploaderOptions, private readonly now: () => number) {
    super()
  }

  get size (): number { return this.peers.size }

  /** Piece bytes handed to peers, closed connections included. */
  get uploaded (): number {
    let n = this.uploadedByClosed
    for (const p of this.peers.values()) n += p.uploader.uploaded
    return n
  }

  get (key: K): ServedPeer<C> | undefined { return this.peers.get(key) }
  keys (): IterableIterator<K> { return this.peers.keys() }
  values (): IterableIterator<ServedPeer<C>> { return this.peers.values() }

  /**
   * Serve `conn`: it gets an Uploader and competes for a slot. `downloadRate` is what it gives us
   * (tit-for-tat while we leech; a pure seeder passes 0).
   */
  add (key: K, conn: C, downloadRate: () => number): ServedPeer<C> {
    const uploader = new Uploader(conn, { ...this.uploaderOpts, now: this.uploaderOpts.now ?? this.now })
    uploader.on('read-error', err => { this.emit('read-error', err) })
    const view: ChokerPeer = {
      get interested () { return conn.peerInterested },
      get downloadRate () { return downloadRate() },
      get uploadRate () { return uploader.uploadRate() },
      connectedAt: this.now(),
      get isChoked () { return uploader.choking },
      unchoke: () => { uploader.unchoke() },
      choke: () => { uploader.choke() }
    }
    const peer = { conn, uploader, view }
    this.peers.set(key, peer)
    this.choker.add(view)
    return peer
  }

  /** The connection closed: its slot goes to another peer. */
  remove (key: K): void {
    const p = this.peers.get(key)
    if (p === undefined) return
    this.peers.delete(key)
    this.uploadedByClosed += p.uploader.uploaded
    this.choker.remove(p.view)
  }

  /** Everything is closing: keep the tally, skip handing slots to peers about to go. */
  clear (): void {
    for (const p of this.peers.values()) this.uploadedByClosed += p.uploader.uploaded
    this.peers.clear()
  }
}
