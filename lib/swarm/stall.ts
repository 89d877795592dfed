/**
 * When a download cannot finish, and the one line that says why: every peer we heard of was
 * banned for bad data, or nothing arrived for the stall timeout (no peers, dead peers, peers that
 * closed during the handshake, or peers that keep us choked). Pure, so each reason is tested on
 * its own.
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
  /** Addresses ever heard of, and of those banned. */
  readonly known: number
  readonly banned: number
  /** No address is left to dial or retry. */
  readonly exhausted: boolean
  /**
   * The pool's `outcomes`: how each known, unconnected peer's last attempt ended. Without it the
   * message only counts peers.
   */
  readonly outcomes?: PeerOutcomes
}

export function stallError (f: StallFacts): DownloadError | undefined {
  if (f.connected === 0 && f.exhausted && f.banned > 0 && f.banned === f.known) {
    return new DownloadError(`every peer was banned (${f.banned}) for sending bad data`)
  }
  if (f.idleMs <= f.limitMs) return undefined
  const secs = Math.round(f.limitMs / 1000)
  if (f.connected > 0) return new DownloadError(`no data for ${secs} s from ${f.connected} connected peers (${f.choking} choking us)`)
  if (f.known === 0) return new DownloadError(`no peers found within ${secs} s`)
  const what = f.outcomes === undefined ? '' : describeOutcomes(f.outcomes)
  if (what === '') return new DownloadError(`no peer answered (${f.known} tried, ${f.banned} banned) within ${secs} s`)
  // "answered" would be wrong for peers that did connect and then left: say which case it is.
  const head = onlyDialFailures(f.outcomes ?? {}) ? 'no peer completed the handshake' : 'no peer answered'
  return new DownloadError(`${head} within ${secs} s: ${what}`)
}
