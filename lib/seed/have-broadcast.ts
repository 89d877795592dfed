import type { BitField } from '../wire/bitfield.js'

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
 * (no metadata) is told. Returns how many were told.
 */
export function broadcastHave (conns: Iterable<HaveTarget>, index: number): number {
  let told = 0
  for (const conn of conns) {
    if (conn.destroying) continue
    if (conn.peerPieces?.get(index) === true) continue
    conn.have(index)
    told++
  }
  return told
}
