// The slice of create-torrent@6 (an untyped dev dependency) the seeding bench uses.
declare module 'create-torrent' {
  export interface CreateTorrentOptions {
    name?: string
    pieceLength?: number
    announceList?: string[][]
    createdBy?: string
    creationDate?: Date
    private?: boolean
  }
  export default function createTorrent (input: Uint8Array | string | Array<Uint8Array | string>, opts: CreateTorrentOptions, cb: (err: Error | null, torrent: Uint8Array) => void): void
}
