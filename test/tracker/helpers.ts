import http from 'node:http'
import dgram from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { Server } from 'bittorrent-tracker'
import { deadPort } from '../helpers.js'
import type { AnnounceRequest } from '../../lib/tracker/types.js'

/** A fixed 20-byte value whose bytes cover the awkward cases of percent-encoding. */
export function bytes20 (seed: number): Uint8Array {
  const b = new Uint8Array(20)
  for (let i = 0; i < 20; i++) b[i] = (seed * 31 + i * 97) & 0xff
  return b
}

export function request (over: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return {
    infoHash: bytes20(1),
    peerId: bytes20(2),
    port: 6881,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
    event: 'started',
    numwant: 50,
    key: 0x1234abcd,
    ...over
  }
}

/** A never-aborted signal for calls that must end on their own. */
export const NEVER = new AbortController().signal

export interface RealTracker {
  readonly server: Server
  readonly httpUrl: string
  readonly udpUrl: string
  readonly udp6Url: string
  close (): Promise<void>
}

/** The npm bittorrent-tracker server on loopback: HTTP on `httpHost`, UDP on 127.0.0.1 and ::1. */
export async function startRealTracker (httpHost = '127.0.0.1', intervalMs?: number): Promise<RealTracker> {
  const server = new Server({ http: true, udp: true, ws: false, stats: false, ...(intervalMs !== undefined ? { interval: intervalMs } : {}) })
  server.on('warning', () => {})
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, { http: httpHost, udp: '127.0.0.1', udp6: '::1' }, () => resolve())
  })
  const httpPort = (server.http?.address() as AddressInfo).port
  const udpPort = (server.udp4?.address() as AddressInfo).port
  const udp6Port = (server.udp6?.address() as AddressInfo).port
  const host = httpHost.includes(':') ? `[${httpHost}]` : httpHost
  return {
    server,
    httpUrl: `http://${host}:${httpPort}/announce`,
    udpUrl: `udp://127.0.0.1:${udpPort}`,
    udp6Url: `udp://[::1]:${udp6Port}`,
    close: async () => { await new Promise<void>(resolve => server.close(() => resolve())) }
  }
}

export interface HostileHttp {
  readonly url: string
  readonly base: string
  /** Request URLs in arrival order. */
  readonly requests: string[]
  close (): Promise<void>
}

/** An HTTP server on 127.0.0.1 whose every answer is `handler`'s. */
export async function hostileHttp (handler: (req: http.IncomingMessage, res: http.ServerResponse, base: string) => void): Promise<HostileHttp> {
  const requests: string[] = []
  let base = ''
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '')
    handler(req, res, base)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: `${base}/announce`,
    base,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

export interface HostileUdp {
  readonly url: string
  /** Every datagram received, in order. */
  readonly received: Buffer[]
  close (): Promise<void>
}

/** A UDP server on `host` that answers each datagram with whatever `handler` returns (or nothing). */
export async function hostileUdp (handler: (packet: Buffer, index: number) => (Uint8Array | undefined)[] | Uint8Array | undefined, host = '127.0.0.1'): Promise<HostileUdp> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4')
  const received: Buffer[] = []
  socket.on('message', (packet, rinfo) => {
    received.push(packet)
    const out = handler(packet, received.length - 1)
    for (const p of Array.isArray(out) ? out : [out]) {
      if (p !== undefined) socket.send(p, rinfo.port, rinfo.address)
    }
  })
  await new Promise<void>(resolve => socket.bind(0, host, resolve))
  const port = socket.address().port
  return {
    url: `udp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    received,
    close: async () => { await new Promise<void>(resolve => socket.close(() => resolve())) }
  }
}

/** A port with nothing listening, outside the ephemeral range so no bind(0) can take it (test/helpers.ts). */
export const deadUdpPort = (): Promise<number> => deadPort('udp')
export const deadTcpPort = (): Promise<number> => deadPort('tcp')

/** BEP 15 response builders for the hostile UDP trackers. */
export const udp = {
  txid: (packet: Buffer): number => packet.readUInt32BE(12),
  action: (packet: Buffer): number => packet.readUInt32BE(8),
  connectResponse (txid: number, connectionId = Buffer.from('0102030405060708', 'hex')): Buffer {
    const b = Buffer.alloc(16)
    b.writeUInt32BE(0, 0)
    b.writeUInt32BE(txid, 4)
    connectionId.copy(b, 8)
    return b
  },
  announceResponse (txid: number, interval: number, peers: Uint8Array): Buffer {
    const b = Buffer.alloc(20)
    b.writeUInt32BE(1, 0)
    b.writeUInt32BE(txid, 4)
    b.writeUInt32BE(interval, 8)
    b.writeUInt32BE(3, 12)
    b.writeUInt32BE(7, 16)
    return Buffer.concat([b, peers])
  },
  errorResponse (txid: number, message: string): Buffer {
    const b = Buffer.alloc(8)
    b.writeUInt32BE(3, 0)
    b.writeUInt32BE(txid, 4)
    return Buffer.concat([b, Buffer.from(message)])
  }
}
