/**
 * Where a download's peers come from: the peers given (`--peer`, a magnet's `x.pe`) and the
 * torrent's trackers; every source feeds the swarm's one peer pool. A download without any source
 * fails at once with a clear reason instead of waiting for the stall timeout.
 */
import { networkInterfaces } from 'node:os'
import type { UtpOptions } from '../utp/session.js'
import type { Metainfo } from '../metainfo/types.js'
import { Announcer, describeTrackerFailure, type AnnounceInfo, type TrackerFailure } from '../tracker/announcer.js'
import type { PeerAddress } from '../tracker/compact.js'
import { DownloadError } from '../util/errors.js'
import type { Swarm } from '../swarm/swarm.js'
import { startDhtLookup, type DhtOptions } from './dht-source.js'
import { startWebSeeds, type WebSeedEvent } from '../webseed/web-seeds.js'

export interface SourceOptions extends DhtOptions, UtpOptions {
  /** Peers to dial besides those the trackers return. */
  readonly peers?: readonly PeerAddress[]
  /** Ask the torrent's trackers for peers (default true). */
  readonly trackers?: boolean
  /** The port announced to trackers. */
  readonly port?: number
  /** Tracker timeouts, for tests against dead trackers. */
  readonly trackerTimeoutMs?: number
  /** Use the torrent's web seeds (BEP 19 url-list, a magnet's ws=); default true. */
  readonly webSeeds?: boolean
}

export interface PeerSources {
  readonly announcer: Announcer | undefined
  /** Tell the trackers we stopped (bounded); never rejects. */
  stop (): Promise<void>
}

export interface SourceHooks {
  readonly fail: (err: Error) => void
  readonly trackerError?: (f: TrackerFailure) => void
  /** A tracker answered: a failure it had is over (the progress line's "[tracker …]" note clears). */
  readonly announce?: (info: AnnounceInfo) => void
  /** Bytes uploaded so far, for announces. */
  readonly uploaded?: () => number
  /** A web seed became busy, failed, or was dropped (lib/webseed). */
  readonly webSeed?: (e: WebSeedEvent) => void
}

export function startPeerSources (swarm: Swarm, meta: Metainfo, peerId: Uint8Array, opts: SourceOptions, hooks: SourceHooks): PeerSources {
  const given = opts.peers ?? []
  for (const p of given) swarm.addPeer(p, 'manual')
  // 'fallback' waits for every tracker to fail; with no trackers running it never starts.
  const fallback = opts.dht === 'fallback'
  let dht = opts.dht === true ? startDhtLookup(meta.infoHash, opts, p => swarm.addPeer(p, 'dht'), meta.private) : undefined
  const noTrackers = opts.trackers === false || meta.announce.length === 0
  const web = opts.webSeeds === false
    ? undefined
    : startWebSeeds(swarm, meta, {
      onEvent: hooks.webSeed,
      // Web seeds were the only source: nothing else can come.
      onAllDropped: why => { if (noTrackers && given.length === 0 && dht === undefined) hooks.fail(new DownloadError(`every web seed failed: ${why}`)) }
    })
  if (web !== undefined) swarm.stallNote = () => web.describe()
  if (noTrackers) {
    if (given.length === 0 && dht === undefined && web === undefined) {
      const why = opts.trackers === false ? 'trackers are off and no peer was given' : 'the torrent names no tracker and no peer was given (and the DHT is off)'
      queueMicrotask(() => hooks.fail(new DownloadError(why)))
    }
    return { announcer: undefined, stop: async () => { web?.stop(); await dht?.stop() } }
  }
  const announcer = new Announcer({
    infoHash: meta.infoHash,
    peerId,
    port: opts.port ?? 6881,
    tiers: meta.announce,
    // Web seeds sit in the pool too: no more known than them means no peer known.
    wantPeers: () => swarm.pool.stats.known <= (web?.count ?? 0),
    getStats: () => {
      const s = swarm.stats
      return { uploaded: hooks.uploaded?.() ?? 0, downloaded: s.verified, left: s.bytesLeft }
    },
    ...(opts.trackerTimeoutMs === undefined ? {} : { http: { timeoutMs: opts.trackerTimeoutMs }, udp: { baseTimeoutMs: opts.trackerTimeoutMs, maxRetries: 1 } })
  })
  const announcedPort = opts.port ?? 6881
  announcer.peers.on('data', (p: unknown) => {
    const addr = p as PeerAddress
    // Our own announce handed back is never a peer (where nothing listens a dial would read as
    // "refused"; where we listen it would dial ourselves).
    if (addr.port === announcedPort && isLocalAddress(addr.host)) swarm.pool.ban(addr, 'ourselves')
    else swarm.addPeer(addr, 'tracker')
  })
  swarm.trackerFailures = () => announcer.summary().failures.map(describeTrackerFailure)
  if (hooks.trackerError !== undefined) announcer.on('tracker-error', hooks.trackerError)
  if (hooks.announce !== undefined) announcer.on('announce', hooks.announce)
  announcer.on('all-failed', failures => {
    if (swarm.pool.stats.known > 0 || given.length > 0 || dht !== undefined) return
    // BEP 5 as the fallback: the trackers are gone, the DHT may still know the swarm.
    if (fallback) dht = startDhtLookup(meta.infoHash, opts, p => swarm.addPeer(p, 'dht'), meta.private)
    // Trackers were our only source: with no peer known at all, nothing can come.
    if (dht === undefined) hooks.fail(new DownloadError(`all trackers failed: ${failures.map(f => f.error.message).join('; ')}`))
  })
  swarm.on('complete', () => announcer.complete())
  announcer.start()
  return { announcer, stop: async () => { web?.stop(); await Promise.all([announcer.stop(), dht?.stop()]) } }
}

/** An address of this machine: loopback, or one of its interfaces. */
function isLocalAddress (host: string): boolean {
  if (/^127\./.test(host) || host === '::1' || host === '::ffff:127.0.0.1') return true
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (i.address === host) return true
  return false
}
