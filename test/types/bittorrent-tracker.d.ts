// The parts of bittorrent-tracker@11 (an untyped dev dependency) the tests use.
declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events'
  import type { Server as HttpServer } from 'node:http'
  import type { Socket } from 'node:dgram'

  export interface ServerOptions {
    http?: boolean
    udp?: boolean
    ws?: boolean
    stats?: boolean
    /** Announce interval told to clients, in milliseconds. */
    interval?: number
  }

  export interface SwarmPeer {
    ip: string
    port: number
    complete: boolean
    peerId: string
  }

  export interface Swarm {
    complete: number
    incomplete: number
    peers: { keys: string[], peek (id: string): SwarmPeer | undefined }
  }

  export class Server extends EventEmitter {
    constructor (opts?: ServerOptions)
    http: HttpServer | null
    udp4: Socket | null
    udp6: Socket | null
    torrents: Record<string, Swarm | undefined>
    listen (port: number, hostname: string | { http?: string, udp?: string, udp6?: string }, onListening?: () => void): void
    close (cb?: () => void): void
  }
}
