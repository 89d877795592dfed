import { HttpTracker, type HttpTrackerOptions } from './http-tracker.js'
import { UdpTracker, type UdpTrackerOptions } from './udp-tracker.js'
import type { Tracker } from './types.js'

export interface TrackerOptions {
  readonly http?: HttpTrackerOptions
  readonly udp?: UdpTrackerOptions
}

/**
 * A Tracker for an announce URL, or the reason we cannot use it: WebTorrent trackers (ws://,
 * wss://) speak WebRTC signalling, not BEP 3, and other schemes are unknown.
 */
export function createTracker (url: string, opts: TrackerOptions = {}): Tracker | string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return 'not a valid URL, skipped'
  }
  switch (u.protocol) {
    case 'http:':
    case 'https:':
      return new HttpTracker(url, opts.http)
    case 'udp:':
      if (u.port === '') return 'UDP tracker URL without a port, skipped'
      return new UdpTracker(url, opts.udp)
    case 'ws:':
    case 'wss:':
      return `unsupported scheme ${u.protocol} (WebTorrent tracker), skipped`
    default:
      return `unsupported scheme ${u.protocol}, skipped`
  }
}
