// The slice of webtorrent@3 (an untyped dev dependency) the tests use as independent peers.
declare module 'webtorrent' {
  import { EventEmitter } from 'node:events'
  interface WebTorrentOptions {
    dht?: boolean
    lsd?: boolean
    utp?: boolean
    natUpnp?: boolean
    natPmp?: boolean
    webSeeds?: boolean
    tracker?: boolean | Record<string, unknown>
    utPex?: boolean
    torrentPort?: number
  }
  interface SeedOptions {
    name?: string
    announce?: string[]
    announceList?: string[][]
    pieceLength?: number
    private?: boolean
    path?: string
    createdBy?: string
  }
  interface AddOptions {
    path?: string
    announce?: string[]
    store?: unknown
  }
  interface TorrentFileEntry {
    name: string
    path: string
    length: number
  }
  export interface Torrent extends EventEmitter {
    infoHash: string
    /** The bencoded info dict. */
    info: unknown
    metadata: Uint8Array
    torrentFile: Uint8Array
    files: TorrentFileEntry[]
    done: boolean
    downloaded: number
    numPeers: number
    addPeer (addr: string): boolean
    destroy (cb?: () => void): void
  }
  export default class WebTorrent extends EventEmitter {
    constructor (opts?: WebTorrentOptions)
    torrentPort: number
    listening: boolean
    torrents: Torrent[]
    seed (input: Uint8Array | Uint8Array[] | string, opts: SeedOptions, onseed?: (t: Torrent) => void): Torrent
    add (id: Uint8Array | string, opts: AddOptions, ontorrent?: (t: Torrent) => void): Torrent
    destroy (cb?: (err?: Error) => void): void
  }
}
