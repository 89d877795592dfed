/**
 * Seed mode: the Swarm as the engine of `bt-stream seed` (and of `serve` once its download is
 * complete). A seed is a Swarm whose picker is complete from the start (every piece it serves is
 * `have`, and nothing else is `wanted`) and which has an upload side: there is nothing to pick,
 * interest is never sent (the picker is interested in no peer), and completion is where it starts
 * rather than where it stops, so it serves until `stop()`. The pool, the listener's incoming
 * peers (`addIncoming`), the choker (the upload side's) and the BEP 9 / BEP 11 extensions are the
 * download's own: a fix to one reaches every mode.
 *
 * What seed mode adds is one rule (BEP 3 clients all apply it): two seeds have nothing to trade,
 * so a peer that has every piece is dropped once we hold every piece ourselves. Peers do not lose
 * pieces, so the pool does not dial it again unless a source names it afresh.
 */
import type { PeerPool } from './peer-pool.js'
import type { PeerSession } from './peer-session.js'
import type { WirePeer } from './types.js'

export interface SeedMode {
  /** We hold every piece of the torrent (a partial seed keeps its connections to seeds). */
  readonly haveAll: () => boolean
}

/** On completion: the seeds we downloaded from have nothing left to give us, nor we them. */
export function dropSeedPeers (mode: SeedMode, pool: PeerPool<WirePeer>, sessions: Iterable<PeerSession>): void {
  for (const s of [...sessions]) dropSeedPeer(mode, pool, s)
}

/** After a peer's bitfield, have all or have: drop it when it is a seed and so are we. */
export function dropSeedPeer (mode: SeedMode, pool: PeerPool<WirePeer>, s: PeerSession): void {
  if (!(s.seed || s.pieces.hasAll()) || !mode.haveAll()) return
  pool.retire(s.addr)
  s.link.destroy()
}
