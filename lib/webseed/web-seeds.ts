/**
 * A download's web seeds (BEP 19): one WebSeedPeer per usable url-list URL (a magnet's `ws=` lands
 * in the same list once the metadata is known), admitted to the swarm as a peer that is already
 * connected. It keeps what became of each one, in words: for events, and for the stall message
 * ("web seed http://… dropped: answered 404 Not Found"). A seed ends only by its own decision
 * (fatal answer, too many failures) or by the swarm's (a ban after a bad piece, the end of the
 * download): it is never added again.
 */
import type { Metainfo } from '../metainfo/types.js'
import type { PeerAddress } from '../swarm/peer-pool.js'
import type { WirePeer } from '../swarm/types.js'
import { WebSeedPeer, type WebSeedPeerOptions, type WebSeedStatus } from './web-seed-peer.js'
import { usableWebSeeds } from './url.js'

/**
 * Web seeds used at most: archive torrents list a handful of mirrors; each seed holds up to 4
 * connections, so a list of hundreds must not become hundreds of sockets.
 */
const MAX_WEB_SEEDS = 8

/** What the swarm must offer: admission like a peer that dialed us (its pool's cap and bans). */
export interface WebSeedHost {
  addIncoming (peer: WirePeer, addr: PeerAddress): boolean
}

export type WebSeedState = 'active' | 'busy' | 'dropped'

export interface WebSeedEvent {
  readonly url: string
  readonly state: WebSeedState
  /** Why it is busy or dropped; for `active`, the failure just seen, if any. */
  readonly reason?: string
  /** `busy`: when it is asked again. */
  readonly retryInMs?: number
}

export interface WebSeedsOptions {
  readonly onEvent?: (e: WebSeedEvent) => void
  /** Every web seed was dropped (called once, with their reasons). */
  readonly onAllDropped?: (why: string) => void
  /** Passed to each seed (tests: timeouts, TLS). */
  readonly peer?: Omit<WebSeedPeerOptions, 'url' | 'meta' | 'onStatus'>
}

interface Seed {
  readonly url: string
  readonly peer: WebSeedPeer
  state: WebSeedState
  reason: string | undefined
  retryAt: number
}

export class WebSeeds {
  private readonly seeds: Seed[] = []
  private readonly opts: WebSeedsOptions
  private stopped = false

  constructor (host: WebSeedHost, meta: Metainfo, opts: WebSeedsOptions = {}) {
    this.opts = opts
    for (const url of usableWebSeeds(meta.urlList).slice(0, MAX_WEB_SEEDS)) {
      // The status callback runs only after `seed` exists (from the seed's own I/O).
      const peer = new WebSeedPeer({ ...opts.peer, url, meta, onStatus: s => this.onStatus(seed, s) })
      const seed: Seed = { url, peer, state: 'active', reason: undefined, retryAt: 0 }
      this.seeds.push(seed)
    }
    for (const seed of this.seeds) {
      // The address names the seed in the pool (ban list) and in events; port 0: no TCP peer has it.
      if (!host.addIncoming(seed.peer, webSeedAddress(seed.url))) this.drop(seed, 'refused by the swarm (peer cap reached)')
    }
  }

  /** Web seeds in use (0: the torrent has none we can use, or they are off). */
  get count (): number { return this.seeds.length }

  /** Each seed's state, in the torrent's order. */
  get states (): WebSeedEvent[] {
    return this.seeds.map(s => this.event(s))
  }

  /**
   * "web seed http://m/f busy (503 …), asked again in 40 s; web seed http://n/f dropped: answered
   * 404 Not Found": the seeds not simply working, for the stall message. Empty when all work.
   */
  describe (now: number = Date.now()): string {
    return this.seeds.filter(s => s.state !== 'active').map(s => s.state === 'busy'
      ? `web seed ${s.url} ${s.reason ?? 'busy'}, asked again in ${Math.max(0, Math.ceil((s.retryAt - now) / 1000))} s`
      : `web seed ${s.url} dropped: ${s.reason ?? 'closed'}`).join('; ')
  }

  /** The download ended: close every seed (the swarm closes them too; this is for early stops). */
  stop (): void {
    this.stopped = true
    for (const s of this.seeds) s.peer.destroy()
  }

  private onStatus (seed: Seed, s: WebSeedStatus): void {
    if (this.stopped || seed.state === 'dropped') return
    switch (s.kind) {
      case 'busy':
        seed.state = 'busy'
        seed.reason = s.reason
        seed.retryAt = Date.now() + s.retryInMs
        this.opts.onEvent?.(this.event(seed))
        break
      case 'resumed':
        seed.state = 'active'
        seed.reason = undefined
        this.opts.onEvent?.(this.event(seed))
        break
      case 'failure':
        this.opts.onEvent?.({ url: seed.url, state: seed.state, reason: s.reason })
        break
      case 'closed':
        // Closed without a reason: the swarm stopped (download complete or aborted).
        if (s.reason !== undefined) this.drop(seed, s.reason)
        break
    }
  }

  private drop (seed: Seed, reason: string): void {
    if (seed.state === 'dropped') return
    seed.state = 'dropped'
    seed.reason = reason
    this.opts.onEvent?.(this.event(seed))
    if (this.seeds.every(s => s.state === 'dropped')) {
      const why = this.describe()
      // Never inside the constructor: the owner has not seen the WebSeeds object yet.
      queueMicrotask(() => { if (!this.stopped) this.opts.onAllDropped?.(why) })
    }
  }

  private event (s: Seed): WebSeedEvent {
    return {
      url: s.url,
      state: s.state,
      ...(s.reason === undefined ? {} : { reason: s.reason }),
      ...(s.state === 'busy' ? { retryInMs: Math.max(0, s.retryAt - Date.now()) } : {})
    }
  }
}

/** A web seed's key in the swarm's pool: its URL as the host, port 0 (never dialed). */
export function webSeedAddress (url: string): PeerAddress {
  return { host: url, port: 0 }
}

/** Start the torrent's web seeds in `host`; undefined when it has none we can use. */
export function startWebSeeds (host: WebSeedHost, meta: Metainfo, opts: WebSeedsOptions = {}): WebSeeds | undefined {
  const seeds = new WebSeeds(host, meta, opts)
  return seeds.count === 0 ? undefined : seeds
}
