// The slice of webtorrent@3 (an untyped dev dependency) the seeding interop tests and bench use.
declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events'

  export interface ClientOptions {
    dht?: boolean
    lsd?: boolean
    utp?: boolean
    natUpnp?: boolean
    natPmp?: boolean
    webSeeds?: boolean
    tracker?: boolean
    /** 0: plaintext. The default 1 starts every outgoing connection with MSE/PE and never falls back. */
    secure?: 0 | 1 | 2
  }

  /** abstract-chunk-store: what `store` constructs with (chunkLength, { length, ... }). */
  export interface ChunkStore {
    put (index: number, buf: Uint8Array, cb?: (err: Error | null) => void): void
    get (index: number, opts: { offset?: number, length?: number } | null | undefined, cb: (err: Error | null, buf?: Uint8Array) => void): void
    close (cb?: (err: Error | null) => void): void
    destroy (cb?: (err: Error | null) => void): void
  }
  export type ChunkStoreConstructor = new (chunkLength: number, opts: { length: number }) => ChunkStore

  export interface TorrentFile {
    readonly name: string
    readonly path: string
    readonly length: number
    arrayBuffer (): Promise<ArrayBuffer>
  }

  export interface Torrent extends EventEmitter {
    readonly infoHash: string
    readonly files: TorrentFile[]
    readonly done: boolean
    readonly downloaded: number
    readonly progress: number
    readonly numPeers: number
    addPeer (peer: string): boolean
    destroy (opts?: { destroyStore?: boolean }, cb?: (err?: Error) => void): void
  }

  export default class WebTorrent extends EventEmitter {
    constructor (opts?: ClientOptions)
    add (torrentId: Uint8Array | string, opts?: { path?: string, announce?: string[], destroyStoreOnDestroy?: boolean, store?: ChunkStoreConstructor, storeCacheSlots?: number }, onTorrent?: (t: Torrent) => void): Torrent
    destroy (cb?: (err?: Error) => void): void
  }
}
