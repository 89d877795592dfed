/**
 * `-o`'s budget of pieces in flight, following the swarm the way stdout's queue time does
 * (lib/swarm/queue-time.ts): each peer's queue covers its rate for QUEUE_SECONDS, up to
 * PEER_QUEUE_CAP, twice over (IN_FLIGHT_FACTOR), plus PIECES_PER_PEER pieces (a piece is in
 * flight until its last block). A fast swarm of few peers needs little (4 libtorrent seeders at
 * ~300 MiB/s: 16 MiB was as fast as 64, with 48 MiB less peak RssAnon); a swarm of many slow
 * peers needs much (16 x 1 MiB/s: 9.3 MiB/s with 16 MiB, 14.4 with 32, 15.7 with 64; 50 x 256
 * KiB/s: 7.4, 11.6, 12.4). The rule gives them ~18, 64 and 64 MiB.
 */
import { QUEUE_SECONDS } from '../swarm/peer-session.js'

/** Never less: a fast swarm of few peers runs at full speed with it (measured above). */
export const MIN_DISK_BUDGET_BYTES = 16 * 1024 * 1024
/** A peer's queue needs no more: 2 s of a 1 MiB/s peer, or a 10 MiB/s peer's bytes over a 200 ms round trip. */
export const PEER_QUEUE_CAP = 2 * 1024 * 1024
/**
 * A piece's blocks sit in several peers' queues, so it stays in flight about as long as the
 * longest of them, and more pieces than the queues' bytes are open at once: with the queues once
 * (16 x 1 MiB/s: 40 MiB) `-o` made 11.6 MiB/s, against 15.6 with 64 MiB.
 */
export const IN_FLIGHT_FACTOR = 2
/** Pieces per peer on top of its queue. */
export const PIECES_PER_PEER = 2
/** How often the budget follows the swarm's rate and peers. */
export const BUDGET_RECHECK_MS = 250

/** The budget for a swarm at `rate` bytes/s over `peers` peers, clamped to [floor, ceiling]. */
export function diskBudgetBytes (rate: number, peers: number, pieceLength: number, floor: number, ceiling: number): number {
  const queues = IN_FLIGHT_FACTOR * Math.min(rate * QUEUE_SECONDS, peers * PEER_QUEUE_CAP)
  return Math.min(ceiling, Math.max(floor, queues + peers * PIECES_PER_PEER * pieceLength))
}

/** What the budget reads from and sets on the swarm. */
export interface BudgetedSwarm {
  readonly stats: { readonly rate: number, readonly peers: number }
  readonly tracker: { setMaxActive (pieces: number): void }
}

/**
 * Keeps the swarm's budget of active pieces following it until the returned stop is called; never
 * under `minPieces` pieces (with 16 MiB pieces the byte floor alone is one piece).
 */
export function followSwarm (swarm: BudgetedSwarm, pieceLength: number, ceiling: number, minPieces = 1): () => void {
  const floor = Math.min(ceiling, Math.max(MIN_DISK_BUDGET_BYTES, minPieces * pieceLength))
  const update = (): void => {
    const { rate, peers } = swarm.stats
    swarm.tracker.setMaxActive(Math.ceil(diskBudgetBytes(rate, peers, pieceLength, floor, ceiling) / pieceLength))
  }
  update()
  const timer = setInterval(update, BUDGET_RECHECK_MS)
  timer.unref()
  return () => clearInterval(timer)
}
