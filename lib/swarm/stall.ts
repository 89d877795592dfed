/**
 * When a download cannot finish, and the one line that says why: every peer we heard of was
 * banned for bad data, or nothing arrived for the stall timeout (no peers, dead peers, peers that
 * closed during the handshake, or peers that keep us choked). Pure, so each reason is tested on
 * its own. Our own address (a tracker lists us among its peers) is never counted as a peer: a
 * dial to ourselves is banned, but not "for sending bad data".
 */
import { DownloadError } from '../util/errors.js'
import { describeOutcomes, onlyDialFailures, type PeerOutcomes } from './peer-outcome.js'

export interface StallFacts {
  /** Milliseconds since the last block we accepted. */
  readonly idleMs: number
  readonly limitMs: number
  readonly connected: number
  /** Of the connected peers, those choking us. */
  readonly choking: number
  /** Addresses ever heard of, and of those banned (our own address included in both). */
  readonly known: number
  readonly banned: number
  /** No address is left to dial or retry. */
  readonly exhausted: boolean
  /**
   * The pool's `outcomes`: how each known, unconnected peer's last attempt ended (`ourselves`:
   * our own address). Without it the message only counts peers.
   */
  readonly outcomes?: PeerOutcomes
  /** What became of the sources the pool does not count (web seeds), appended after `; `. */
  readonly note?: string
  /**
   * Why the trackers failed in their latest round, one worded line each
   * (`describeTrackerFailure`): when no peer was found, that is most often the reason.
   */
  readonly trackerFailures?: readonly string[]
}

export function stallError (f: StallFacts): DownloadError | undefined {
  const err = stallReason(f)
  return err === undefined || f.note === undefined || f.note === '' ? err : new DownloadError(`${err.message}; ${f.note}`)
}

function stallReason (f: StallFacts): DownloadError | undefined {
  const self = Math.min(f.outcomes?.ourselves ?? 0, f.known)
  // Addresses that were really someone else, and of those the ones banned for bad data.
  const known = f.known - self
  const banned = Math.max(0, f.banned - self)
  if (f.connected === 0 && f.exhausted && banned > 0 && banned === known) {
    return new DownloadError(`every peer was banned (${banned}) for sending bad data`)
  }
  if (f.idleMs <= f.limitMs) return undefined
  const secs = Math.round(f.limitMs / 1000)
  if (f.connected > 0) return new DownloadError(`no data for ${secs} s from ${f.connected} connected peers (${f.choking} choking us)`)
  if (known === 0) {
    const onlySelf = self > 0 ? ' (the trackers returned only our own address)' : ''
    const trackers = (f.trackerFailures ?? []).length > 0 ? `; ${(f.trackerFailures ?? []).join('; ')}` : ''
    return new DownloadError(`no peers found within ${secs} s${onlySelf}${trackers}`)
  }
  const { ourselves: _self, ...others } = f.outcomes ?? {}
  const what = f.outcomes === undefined ? '' : describeOutcomes(others)
  if (what === '') return new DownloadError(`no peer answered (${known} tried, ${banned} banned) within ${secs} s`)
  // "answered" would be wrong for peers that did connect and then left: say which case it is.
  const head = onlyDialFailures(others) ? 'no peer completed the handshake' : 'no peer answered'
  return new DownloadError(`${head} within ${secs} s: ${what}`)
}
