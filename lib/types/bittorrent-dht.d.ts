// The slice of bittorrent-dht@11 (which ships no types) that lib/dht and its tests use.
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'

  export interface DHTNodeAddress {
    host: string
    port: number
    id?: Uint8Array
  }

  /**
   * The slice of a dgram socket that k-rpc-socket uses; bittorrent-dht hands `socket` down to
   * it through k-rpc, and k-rpc-socket reads every datagram from this object's 'message' event.
   */
  export interface DHTSocket extends EventEmitter {
    bind (port?: number, address?: string, callback?: () => void): void
    address (): { address: string, family: string, port: number }
    send (msg: Uint8Array, offset: number, length: number, port: number, address: string, cb?: (err: Error | null, bytes: number) => void): void
    close (cb?: () => void): void
  }

  export interface DHTOptions {
    /** 160-bit node id (default: random). */
    nodeId?: Uint8Array | string
    /** Nodes to join through; `false` for none (default: the public routers). */
    bootstrap?: false | Array<string | DHTNodeAddress>
    /** Address of the local peer: announces are also added to our own table. */
    host?: string | false
    concurrency?: number
    timeBucketOutdated?: number
    maxAge?: number
    /** The UDP socket to use instead of one the package creates (k-rpc-socket's `socket`). */
    socket?: DHTSocket
  }

  export default class DHT extends EventEmitter {
    constructor (opts?: DHTOptions)
    readonly listening: boolean
    readonly destroyed: boolean
    readonly ready: boolean
    readonly nodeId: Uint8Array
    listen (port?: number, address?: string, onlistening?: () => void): void
    address (): { address: string, family: string, port: number }
    /** Recursive get_peers; `peer` events carry what it finds. Returns abort(). */
    lookup (infoHash: Uint8Array | string, cb?: (err: Error | null, nodesWithPeers: number) => void): () => void
    /** announce_peer to the closest nodes (a lookup first when none is cached). Port 0: implied port. */
    announce (infoHash: Uint8Array | string, port: number, cb?: (err: Error | null) => void): void
    addNode (node: DHTNodeAddress): void
    toJSON (): { nodes: DHTNodeAddress[] }
    destroy (cb?: () => void): void

    on (event: 'peer', fn: (peer: { host: string, port: number }, infoHash: Uint8Array, from: { address?: string, host?: string, port: number } | null) => void): this
    on (event: 'announce', fn: (peer: { host: string, port: number }, infoHash: Uint8Array) => void): this
    on (event: 'get_peers', fn: (infoHash: Uint8Array) => void): this
    on (event: 'ready' | 'listening' | 'close', fn: () => void): this
    on (event: 'error' | 'warning', fn: (err: Error) => void): this
    off (event: string, fn: (...args: any[]) => void): this
    once (event: 'listening' | 'ready' | 'close', fn: () => void): this
    once (event: 'error', fn: (err: Error) => void): this
  }
}
