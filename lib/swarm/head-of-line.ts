/**
 * Head-of-line rescue (window mode). The output waits for the piece at its cursor, so a head
 * block that its holder delivers late holds every byte behind it, and once the window fills no
 * peer gets new work. Each peer answers its requests in order, so a request sent to it now
 * arrives after about its queue's drain time (its outstanding blocks at its measured rate). A
 * block in the head pieces is asked of a second peer when that peer is expected to deliver it
 * sooner than its holder: the first copy wins and the other is cancelled (RequestTracker.receive).
 * Peers whose queues drain in equal time never duplicate, so a healthy swarm wastes nothing;
 * duplicates go to a peer whose queue is short while the holder's is long (its rate fell, or its
 * queue was filled while its rate was overestimated), which is exactly when the head would wait.
 */
import { BLOCK_LENGTH } from '../pieces/active-piece.js'
import type { HeadOptions } from '../pieces/request-tracker.js'
import type { PeerSession } from './peer-session.js'

/**
 * The head: this fraction of the window from the cursor (8 pieces of the default 64). A block
 * further out has the rest of the window's time to arrive; the head's blocks have less than a
 * queue's drain time before the output waits for them.
 */
const HEAD_FRACTION = 1 / 8
/** Never fewer head pieces than the picker's urgent ones. */
const MIN_HEAD_PIECES = 2
/**
 * A duplicate must be expected this much sooner than the holder's copy: less than that is within
 * the noise of the rate estimates, and each duplicate may cost a block of upload twice.
 */
const MARGIN_MS = 50
/**
 * A holder this far past its own expected delivery is behind (its rate fell): assume the block
 * needs another full drain of its queue.
 */
const BEHIND_FACTOR = 1.5

/** What the policy needs of the engine: each peer's outstanding requests and whether it went quiet. */
export interface HeadPeers {
  outstanding (s: PeerSession): number
  idle (s: PeerSession, now: number): boolean
}

/** How long `blocks` requests take at `rate` bytes/s (ms), or undefined while no rate is known. */
export function drainMs (blocks: number, rate: number): number | undefined {
  return rate > 0 ? blocks * BLOCK_LENGTH * 1000 / rate : undefined
}

/** How many pieces from the cursor are the head, for a window of `windowPieces`. */
export function headPieces (windowPieces: number): number {
  return Math.max(MIN_HEAD_PIECES, Math.ceil(windowPieces * HEAD_FRACTION))
}

/**
 * Is asking `rescuer` for a head block worth it? `mineMs`: when the rescuer would deliver it
 * (undefined: unknown); `theirsMs`: the holder's queue drain time now (undefined: unknown);
 * `ageMs`: since the holder was asked. Without both estimates, the engine's `staleMs` decides.
 */
export function rescueWorthIt (mineMs: number | undefined, theirsMs: number | undefined, ageMs: number, staleMs: number): boolean {
  if (mineMs === undefined || theirsMs === undefined) return ageMs > staleMs
  const remaining = ageMs > BEHIND_FACTOR * theirsMs ? theirsMs : theirsMs - ageMs
  return mineMs + MARGIN_MS < remaining
}

/**
 * The head options for one fill of `rescuer` (RequestTracker.fill). `cursor` is the output's next
 * piece; `staleMs` the engine's age rule for peers whose rate is not known yet.
 */
export function headFor (rescuer: PeerSession, cursor: number, windowPieces: number, peers: HeadPeers, now: number, staleMs: number): HeadOptions<PeerSession> {
  const queued = peers.outstanding(rescuer)
  // A peer with nothing asked of it answers its first request after a round trip, rate or not.
  const mine = queued === 0 ? 0 : drainMs(queued + 1, rescuer.download.rate(now))
  // Blocks of a piece mostly share a holder: its drain time is worked out once per run of them
  // (a rate is a 20-bucket sum, and a fill may look at every block of the head).
  let last: PeerSession | undefined
  let lastDrain: number | undefined
  return {
    end: cursor + headPieces(windowPieces) - 1,
    late (holder, ageMs) {
      if (holder !== last) {
        last = holder
        lastDrain = peers.idle(holder, now) ? -1 : drainMs(peers.outstanding(holder), holder.download.rate(now))
      }
      if (lastDrain === -1) return true // went quiet: anyone is sooner
      return rescueWorthIt(mine, lastDrain, ageMs, staleMs)
    }
  }
}
