// The slice of webtorrent@3 (an untyped dev dependency) the interop tests use.
declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events'

  export interface WebTorrentOptions {
    dht?: boolean
    lsd?: boolean
    utp?: boolean
    utPex?: boolean
    natUpnp?: boolean
    natPmp?: boolean
    webSeeds?: boolean
    tracker?: boolean
    torrentPort?: number
    /** Protocol encryption: 0 off, 1 MSE with plaintext fallback (the default), 2 MSE only. */
    secure?: 0 | 1 | 2
  }

  export interface SeedOptions {
    name?: string
    pieceLength?: number
    private?: boolean
    announce?: string[]
  }

  export interface Torrent extends EventEmitter {
    readonly infoHash: string
    readonly infoHashHash?: string
    /** The bencoded info dict. */
    readonly info: unknown
    readonly metadata: Uint8Array
    readonly numPeers: number
    addPeer (peer: string): boolean
  }

  export default class WebTorrent {
    constructor (opts?: WebTorrentOptions)
    readonly torrentPort: number
    readonly listening: boolean
    /** A magnet URI, an info hash, or .torrent bytes; `path` is where the data goes. */
    add (torrentId: string, opts: { path?: string }, ontorrent?: (torrent: Torrent) => void): Torrent
    seed (input: Uint8Array | Buffer, opts: SeedOptions, onseed: (torrent: Torrent) => void): Torrent
    on (event: 'error', fn: (err: Error) => void): this
    on (event: 'listening', fn: () => void): this
    destroy (cb?: (err: Error | null) => void): void
  }
}
