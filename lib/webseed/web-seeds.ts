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
  /** The seed's current peer: a new one replaces it when a file turns out missing. */
  peer: WebSeedPeer
  /** Files the server answered 404/410 for (multi-file): left out of the peer's bitfield. */
  readonly missing: Set<number>
  state: WebSeedState
  reason: string | undefined
  retryAt: number
}

export class WebSeeds {
  private readonly seeds: Seed[] = []
  private readonly opts: WebSeedsOptions
  private readonly host: WebSeedHost
  private readonly meta: Metainfo
  private readonly rejoins = new Set<NodeJS.Immediate>()
  private stopped = false

  constructor (host: WebSeedHost, meta: Metainfo, opts: WebSeedsOptions = {}) {
    this.opts = opts
    this.host = host
    this.meta = meta
    for (const url of usableWebSeeds(meta.urlList).slice(0, MAX_WEB_SEEDS)) {
      // The peer is made for its seed: the seed first, without it.
      const seed = { url, missing: new Set<number>(), state: 'active', reason: undefined, retryAt: 0 } as Seed
      seed.peer = this.newPeer(seed)
      this.seeds.push(seed)
    }
    for (const seed of this.seeds) this.join(seed)
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
    for (const r of this.rejoins) clearImmediate(r)
    this.rejoins.clear()
    for (const s of this.seeds) s.peer.destroy()
  }

  private newPeer (seed: Seed): WebSeedPeer {
    // Statuses of a replaced peer (its close, after a missing file) are not the seed's any more.
    const peer: WebSeedPeer = new WebSeedPeer({ ...this.opts.peer, url: seed.url, meta: this.meta, missingFiles: new Set(seed.missing), onStatus: s => { if (seed.peer === peer) this.onStatus(seed, s) } })
    return peer
  }

  /** The seed's peer into the swarm, admitted like a peer that dialed us (cap and bans apply). */
  private join (seed: Seed): void {
    // The address names the seed in the pool (ban list) and in events; port 0: no TCP peer has it.
    if (!this.host.addIncoming(seed.peer, webSeedAddress(seed.url))) this.drop(seed, 'refused by the swarm (peer cap reached)')
  }

  /**
   * A file of a multi-file torrent is not on this server: the seed comes back as a new peer that
   * announces every piece but that file's. After the old peer's close has run in the swarm (its
   * requests released, its address free in the pool), never before.
   */
  private rejoinWithout (seed: Seed, file: number, reason: string): void {
    seed.missing.add(file)
    const left = this.meta.files.some((f, i) => f.length > 0 && !f.padding && !seed.missing.has(i))
    if (!left) { this.drop(seed, `has none of the torrent's files (last: ${reason})`); return }
    this.opts.onEvent?.({ url: seed.url, state: 'active', reason: `lacks ${this.meta.files[file]!.path} (${reason}): used for the other files` })
    const r = setImmediate(() => {
      this.rejoins.delete(r)
      if (this.stopped) return
      seed.peer = this.newPeer(seed)
      this.join(seed)
    })
    this.rejoins.add(r)
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
        if (s.reason === undefined) break
        if (s.missingFile !== undefined && this.meta.multiFile) this.rejoinWithout(seed, s.missingFile, s.reason)
        else this.drop(seed, s.reason)
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
