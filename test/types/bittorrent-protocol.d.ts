// The slice of bittorrent-protocol@5 the interop tests use (the package ships no types).
declare module 'bittorrent-protocol' {
  import { Duplex } from 'streamx'
  export default class Wire extends Duplex {
    constructor (type?: string)
    peerId: string | null
    peerExtensions: { extended?: boolean, fast?: boolean, dht?: boolean }
    peerExtendedHandshake: Record<string, unknown>
    extendedHandshake: Record<string, unknown>
    peerPieces: { get: (i: number) => boolean }
    peerChoking: boolean
    peerInterested: boolean
    hasFast: boolean
    handshake (infoHash: string | Uint8Array, peerId: string | Uint8Array, extensions?: { dht?: boolean, fast?: boolean }): void
    bitfield (bf: Uint8Array): void
    interested (): void
    unchoke (): void
    have (i: number): void
    request (index: number, offset: number, length: number, cb: (err: Error | null, block: Uint8Array) => void): void
    on (event: string, fn: (...args: any[]) => void): this
    once (event: string, fn: (...args: any[]) => void): this
    destroy (): void
  }
}
