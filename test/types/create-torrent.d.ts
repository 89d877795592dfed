// The part of create-torrent@6 (an untyped dev dependency) the tests use.
declare module 'create-torrent' {
  export interface CreateTorrentOptions {
    name?: string
    pieceLength?: number
    private?: boolean
    announceList?: string[][]
    createdBy?: string
    creationDate?: number
    filterJunkFiles?: boolean
  }
  type Input = string | Buffer | Array<string | Buffer>
  export default function createTorrent (input: Input, opts: CreateTorrentOptions, cb: (err: Error | null, torrent: Buffer) => void): void
}
