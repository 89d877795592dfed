/**
 * When a download cannot finish, and the one line that says why: every peer we heard of was
 * banned for bad data, or nothing arrived for the stall timeout (no peers, dead peers, or peers
 * that keep us choked). Pure, so each reason is tested on its own.
 */
import { DownloadError } from '../util/errors.js'

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
}

export function stallError (f: StallFacts): DownloadError | undefined {
  if (f.connected === 0 && f.exhausted && f.banned > 0 && f.banned === f.known) {
    return new DownloadError(`every peer was banned (${f.banned}) for sending bad data`)
  }
  if (f.idleMs <= f.limitMs) return undefined
  const secs = Math.round(f.limitMs / 1000)
  if (f.connected > 0) return new DownloadError(`no data for ${secs} s from ${f.connected} connected peers (${f.choking} choking us)`)
  const why = f.known === 0 ? 'no peers found' : `no peer answered (${f.known} tried, ${f.banned} banned)`
  return new DownloadError(`${why} within ${secs} s`)
}
