import type { BitField } from '../wire/bitfield.js'
import { backlogged } from './reply-gate.js'

/** What telling a peer needs of its connection (a PeerConnection is one). */
export interface HaveTarget {
  readonly destroying: boolean
  readonly peerPieces: BitField | undefined
  have (index: number): boolean
}

/**
 * A piece verified: tell every open connection that lacks it.
 *
 *   have: <len=0x0005><id=4><piece index>
 *
 * BEP 3: "the index which that downloader just completed and checked the hash of". Peers that
 * already hold the piece are skipped (libtorrent does the same): they would never request it
 * from us, and it is one message per piece per peer saved. A peer whose pieces are not known yet
 * (no metadata) is told. A peer that has not read what we sent (the reply gate's `backlogged`)
 * is skipped: one have per piece is bounded, but 9 bytes and a message object per piece of a
 * large torrent add up for a connection that never reads. Returns how many were told.
 */
export function broadcastHave (conns: Iterable<HaveTarget>, index: number): number {
  let told = 0
  for (const conn of conns) {
    if (conn.destroying || backlogged(conn)) continue
    if (conn.peerPieces?.get(index) === true) continue
    conn.have(index)
    told++
  }
  return told
}
