import { isIP } from 'node:net'
import DHT from 'bittorrent-dht'
import { formatPeer, parseHostPort, validPeer, type PeerAddress } from '../tracker/compact.js'
import { BtStreamError, UsageError } from '../util/errors.js'
import { ScreenedUdpSocket, type DroppedDatagrams, type SharedDatagramPort } from './screened-socket.js'

/**
 * Our node in the BitTorrent DHT (BEP 5), a thin wrapper over the `bittorrent-dht` package:
 * we do not reimplement Kademlia; we bound it (every call has a timeout, destroy always ends),
 * type it, and speak PeerAddress like the trackers and PEX do.
 *
 * BEP 27: private torrents never use the DHT. `findPeers` and `announce` take the torrent's
 * `private` flag and contact no one when it is set, so a caller cannot leak a private info hash
 * by forgetting to check.
 *
 * The UDP socket is IPv4 only (the package's k-rpc-socket is udp4), so BEP 32 is not covered.
 *
 * Every datagram is checked before the package sees it (ScreenedUdpSocket: at most 1500 bytes
 * and well-formed bencoding by scanBencode): the package's own bencode 2.0.3 hangs on `l-3:e`.
 */
export interface DhtNodeOptions {
  /** `host:port` of the nodes we join through (default: the public routers). */
  readonly bootstrap?: readonly string[]
  /** UDP port (default 0: any free port). */
  readonly port?: number
  /** Address the UDP socket binds to (default all interfaces; tests use 127.0.0.1). */
  readonly bindAddress?: string
  /** 20-byte node id (default random). */
  readonly nodeId?: Uint8Array
  /** How long a lookup or announce may run (default 30 s). */
  readonly queryTimeout?: number
  /**
   * A UDP socket already bound, shared with uTP (a UtpTransport's `datagrams`: libtorrent too
   * runs uTP and the DHT on one port). `port` and `bindAddress` are then the socket's own;
   * destroy() lets go of it without closing it.
   */
  readonly socket?: SharedDatagramPort
}

export interface TorrentRef {
  readonly infoHash: Uint8Array
  /** BEP 27: a private torrent's peers come only from its trackers. */
  readonly private?: boolean
}

export const DEFAULT_BOOTSTRAP: readonly string[] = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881']
export const DEFAULT_QUERY_TIMEOUT = 30_000
/** Binding a UDP socket is immediate; this only guards against a wedged event loop. */
const LISTEN_TIMEOUT = 5000
const DESTROY_TIMEOUT = 2000

/** A DHT operation that could not be done (bind failed, announce reached no node). */
export class DhtError extends BtStreamError {}

export class DhtNode {
  private readonly _dht: DHT
  private readonly _socket: ScreenedUdpSocket
  private readonly _timeout: number
  private _destroyed = false
  /** Lookups and announces in progress: destroy ends them. */
  private readonly _pending = new Set<() => void>()

  private constructor (dht: DHT, socket: ScreenedUdpSocket, timeout: number) {
    this._dht = dht
    this._socket = socket
    this._timeout = timeout
    // The package emits 'error' for socket failures; unhandled, that would kill the process.
    dht.on('error', () => {})
    dht.on('warning', () => {})
  }

  /** Creates the node and binds its UDP socket; joining the DHT (bootstrap) runs in the background. */
  static async start (opts: DhtNodeOptions = {}): Promise<DhtNode> {
    const bootstrap = (opts.bootstrap ?? DEFAULT_BOOTSTRAP).map(parseBootstrapNode)
    // Ours, not the package's: bittorrent-dht passes `socket` down to k-rpc-socket, which then
    // reads only the datagrams the screen let through.
    const socket = new ScreenedUdpSocket(opts.socket ?? 'udp4')
    const dht = new DHT({
      bootstrap,
      socket,
      ...(opts.nodeId === undefined ? {} : { nodeId: Buffer.from(opts.nodeId) })
    })
    const node = new DhtNode(dht, socket, opts.queryTimeout ?? DEFAULT_QUERY_TIMEOUT)
    // Bind now, before the package's bootstrap (next tick) sends from an unbound socket, which
    // would bind it to every interface on a random port.
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new DhtError(`DHT socket not listening after ${LISTEN_TIMEOUT} ms`)) }, LISTEN_TIMEOUT)
      dht.once('listening', () => { clearTimeout(timer); resolve() })
      dht.once('error', (err) => { clearTimeout(timer); reject(new DhtError(`cannot bind the DHT socket: ${err.message}`, { cause: err })) })
    })
    dht.listen(opts.port ?? 0, opts.bindAddress)
    try {
      await listening
    } catch (err) {
      await node.destroy()
      throw err
    }
    return node
  }

  /** Our UDP port (the one to put in BEP 5 PORT messages). */
  get port (): number { return this._dht.address().port }

  /** Datagrams dropped unread: too large, or not well-formed bencoding. */
  get droppedDatagrams (): DroppedDatagrams { return this._socket.dropped }

  /** Nodes in our routing table. */
  get nodeCount (): number { return this._dht.toJSON().nodes.length }

  /**
   * Looks the torrent up (recursive get_peers) and calls `onPeer` once per distinct valid peer
   * address found. Resolves when the lookup ends, `queryTimeout` passes, or `signal` aborts,
   * with the number of distinct peers. A private torrent resolves 0 without a query.
   */
  async findPeers (torrent: TorrentRef, onPeer: (peer: PeerAddress) => void, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const wanted = Buffer.from(torrent.infoHash)
    if (wanted.length !== 20) throw new UsageError(`an info hash is 20 bytes, got ${wanted.length}`)
    if (torrent.private === true || this._destroyed || opts.signal?.aborted === true) return 0
    const seen = new Set<string>()
    const onDhtPeer = (peer: { host: string, port: number }, infoHash: Uint8Array): void => {
      if (!wanted.equals(infoHash)) return
      const p = validPeer(peer.host, peer.port)
      if (p === undefined) return
      const key = formatPeer(p)
      if (seen.has(key)) return
      seen.add(key)
      try {
        onPeer(p)
      } catch {
        // The caller's callback must not break the lookup.
      }
    }
    this._dht.on('peer', onDhtPeer)
    try {
      await this._bounded(opts.signal, (done) => {
        const abort = this._dht.lookup(wanted, () => { done() })
        return abort
      })
    } finally {
      this._dht.off('peer', onDhtPeer)
    }
    return seen.size
  }

  /**
   * Tells the DHT we serve the torrent on TCP `port` (announce_peer to the nodes closest to the
   * info hash, after a lookup for their tokens). Rejects with DhtError when no node took it or
   * the time ran out. A private torrent resolves without a query.
   */
  async announce (torrent: TorrentRef, port: number): Promise<void> {
    if (torrent.private === true) return
    if (this._destroyed) throw new DhtError('the DHT node is destroyed')
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`invalid port ${port}`)
    let failure: Error | undefined
    const finished = await this._bounded(undefined, (done) => {
      this._dht.announce(Buffer.from(torrent.infoHash), port, (err) => { failure = err ?? undefined; done() })
      return () => {}
    })
    if (!finished) throw new DhtError(`DHT announce did not finish within ${this._timeout} ms`)
    if (failure !== undefined) throw new DhtError(`DHT announce failed: ${failure.message}`, { cause: failure })
  }

  /** A node we heard of another way (a peer's BEP 5 PORT message). */
  addNode (host: string, port: number): void {
    if (this._destroyed || isIP(host) !== 4 || !Number.isInteger(port) || port < 1 || port > 65535) return
    this._dht.addNode({ host, port })
  }

  /** Closes the socket and stops every timer; resolves within a bounded time. */
  destroy (): Promise<void> {
    this._destroyed = true
    for (const end of [...this._pending]) end()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, DESTROY_TIMEOUT)
      this._dht.destroy(() => { clearTimeout(timer); resolve() })
    })
  }

  /** Runs `start(done)` until done, the timeout, or the signal; resolves true when done came first. */
  private _bounded (signal: AbortSignal | undefined, start: (done: () => void) => () => void): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false
      let abort: () => void = () => {}
      const finish = (ok: boolean): void => {
        if (settled) return
        settled = true
        this._pending.delete(onAbort)
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        if (!ok) abort()
        resolve(ok)
      }
      const onAbort = (): void => { finish(false) }
      const timer = setTimeout(() => { finish(false) }, this._timeout)
      signal?.addEventListener('abort', onAbort, { once: true })
      this._pending.add(onAbort)
      abort = start(() => { finish(true) })
    })
  }
}

/** `host:port`, `[v6]:port` (a bootstrap node); throws UsageError for anything else. */
export function parseBootstrapNode (s: string): PeerAddress {
  const addr = parseHostPort(s.trim())
  if (addr === undefined) throw new UsageError(`not a host:port: "${s}"`)
  return addr
}
