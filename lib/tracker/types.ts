import type { PeerAddress } from './compact.js'

/** BEP 3 `event`: absent for a regular re-announce. */
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | undefined

/** One announce, the same for HTTP (BEP 3) and UDP (BEP 15) trackers. */
export interface AnnounceRequest {
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
  readonly port: number
  readonly uploaded: number
  readonly downloaded: number
  readonly left: number
  readonly event: AnnounceEvent
  /** How many peers we would like; -1 lets the tracker choose (UDP default). */
  readonly numwant: number
  /** A random 32-bit value that identifies us across IP changes (BEP 3 `key`, BEP 15 `key`). */
  readonly key: number
  /** The `tracker id` the tracker gave on an earlier answer, sent back as `trackerid`. */
  readonly trackerId?: Uint8Array
}

/** What a tracker said, after validation. */
export interface AnnounceResponse {
  /** Seconds until the next regular announce. */
  readonly interval: number
  /** Seconds the tracker asks us never to go below (BEP 3 `min interval`). */
  readonly minInterval?: number
  readonly trackerId?: Uint8Array
  readonly complete?: number
  readonly incomplete?: number
  readonly peers: PeerAddress[]
  /** `warning message` and notes on dropped entries: the announce still succeeded. */
  readonly warnings: string[]
}

/** Seeders, completed downloads and leechers of one torrent (BEP 15 scrape / BEP 48). */
export interface ScrapeResult {
  readonly complete: number
  readonly downloaded: number
  readonly incomplete: number
}

/** One tracker URL. Failures reject with a TrackerError that names the URL. */
export interface Tracker {
  readonly url: string
  announce (req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceResponse>
  /** Releases sockets; in-flight announces reject. */
  close (): void
}
