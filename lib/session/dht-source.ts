/**
 * The DHT as a peer source (BEP 5): a node joins through the bootstrap nodes and looks the info
 * hash up, now and again every few minutes while the download runs; found peers go to the same
 * pool as the trackers'. Never for private torrents (BEP 27).
 */
import type { DhtNode } from '../dht/dht-node.js'
import type { PeerAddress } from '../tracker/compact.js'

export interface DhtOptions {
  /** Use the DHT: always, or only once every tracker failed (`'fallback'`). */
  readonly dht?: boolean | 'fallback'
  /** `host:port` nodes to join through (default: the public routers). Tests pass loopback nodes. */
  readonly dhtBootstrap?: readonly string[]
  /** UDP port and address of our node (default: any free port, every interface). */
  readonly dhtPort?: number
  readonly dhtBind?: string
}

export interface DhtLookup {
  stop (): Promise<void>
}

/** Repeat the lookup this often: the DHT's peer lists change slowly, and each lookup costs traffic. */
const RELOOKUP_MS = 5 * 60_000

/** A seeder re-announces this often: DHT nodes forget peers after ~30 minutes (BEP 5 practice). */
const REANNOUNCE_MS = 15 * 60_000

/**
 * Seeding: tell the DHT that `port` serves the torrent, now and every 15 minutes, until stopped.
 * Announce failures are only logged by the caller's `onError`: trackers and PEX still work.
 */
export function startDhtAnnounce (infoHash: Uint8Array, port: number, opts: DhtOptions, isPrivate: boolean, onError: (err: Error) => void = () => {}): DhtLookup | undefined {
  if (opts.dht === undefined || opts.dht === false || isPrivate) return undefined
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const nodeReady = import('../dht/dht-node.js').then(({ DhtNode }) => DhtNode.start({ bootstrap: opts.dhtBootstrap, port: opts.dhtPort, bindAddress: opts.dhtBind }))
  nodeReady.catch(onError)
  const announce = (node: DhtNode): void => {
    if (stopped) return
    node.announce({ infoHash }, port).catch(onError).finally(() => {
      if (stopped) return
      timer = setTimeout(() => announce(node), REANNOUNCE_MS)
      timer.unref()
    })
  }
  nodeReady.then(announce, () => {})
  return {
    async stop () {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      const node = await nodeReady.catch(() => undefined)
      await node?.destroy()
    }
  }
}

export function startDhtLookup (infoHash: Uint8Array, opts: DhtOptions, onPeer: (p: PeerAddress) => void, isPrivate = false): DhtLookup | undefined {
  if (opts.dht === undefined || opts.dht === false || isPrivate) return undefined
  const abort = new AbortController()
  let timer: NodeJS.Timeout | undefined
  // Loaded only when used: the DHT package and its dependencies cost ~14 MB of memory.
  const nodeReady = import('../dht/dht-node.js').then(({ DhtNode }) => DhtNode.start({ bootstrap: opts.dhtBootstrap, port: opts.dhtPort, bindAddress: opts.dhtBind }))
  nodeReady.catch(() => {})
  const lookup = (node: DhtNode): void => {
    if (abort.signal.aborted) return
    node.findPeers({ infoHash }, onPeer, { signal: abort.signal })
      .catch(() => 0)
      .finally(() => {
        if (abort.signal.aborted) return
        timer = setTimeout(() => lookup(node), RELOOKUP_MS)
        timer.unref()
      })
  }
  nodeReady.then(lookup, () => {})
  return {
    async stop () {
      abort.abort()
      if (timer !== undefined) clearTimeout(timer)
      const node = await nodeReady.catch(() => undefined)
      await node?.destroy()
    }
  }
}
