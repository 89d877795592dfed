import dgram from 'node:dgram'
import { EventEmitter } from 'node:events'
import { scanBencode } from '../bencode/scan.js'

/**
 * The DHT's UDP socket, as the `bittorrent-dht` package sees it. The package decodes every
 * datagram with its own copy of `bencode` (k-rpc-socket -> bencode 2.0.3), which loops for ever
 * on a negative string length (`l-3:e`, five bytes from anyone). We cannot give it a decoder, but
 * k-rpc-socket takes the socket it reads from (`socket` option, passed down by bittorrent-dht
 * and k-rpc): this is that socket. It owns the real dgram socket and re-emits a datagram as
 * 'message' only after it is at most MAX_DHT_DATAGRAM_BYTES and passes scanBencode (bounded,
 * constant stack). Everything else is dropped and counted; the library never holds the real
 * socket, so no byte reaches it unchecked. A throw from the library while it handles a datagram
 * (it trusts field types) is caught here and counted, instead of ending the process.
 *
 * What k-rpc-socket uses (1.11): on('message' | 'error' | 'listening' | 'close'), bind(...),
 * address(), send(buf, offset, length, port, host, cb), close().
 */

/**
 * Largest datagram handed on: 1500 bytes, one Ethernet MTU. BEP 5 implementations keep each
 * message in one unfragmented packet (libtorrent replies with at most 100 peers so a get_peers
 * answer stays under it); the largest real messages, a get_peers reply with 100 values, 8 nodes
 * and a token, or a BEP 44 item of 1000 bytes with its key and signature, are ~1.1-1.3 KB.
 * Anything bigger is not a DHT message we would act on, and the bound caps the decoding work
 * one datagram can cost (UDP would let 64 KiB through).
 */
export const MAX_DHT_DATAGRAM_BYTES = 1500

/** Datagrams dropped before the library saw them. */
export interface DroppedDatagrams {
  /** Larger than MAX_DHT_DATAGRAM_BYTES. */
  readonly oversized: number
  /** Not one well-formed bencoded value (what scanBencode rejects). */
  readonly malformed: number
  /**
   * Well-formed bencoding on which the library threw while handling it (a field of the wrong
   * type: `info_hash` as an integer makes bittorrent-dht call Number#toString('hex')).
   */
  readonly failed: number
}

/**
 * A UDP socket the DHT shares with another user instead of owning one: uTP's (lib/utp
 * datagrams.ts hands over the datagrams libutp did not claim). The same screen applies.
 */
export interface SharedDatagramPort {
  on (event: 'message', listener: (msg: Buffer, rinfo: dgram.RemoteInfo) => void): unknown
  on (event: 'error' | 'listening' | 'close', listener: (...args: any[]) => void): unknown
  bind (...args: unknown[]): void
  address (): ReturnType<dgram.Socket['address']>
  send (msg: Uint8Array, offset: number, length: number, port: number, address: string, cb?: (err: Error | null, bytes: number) => void): void
  close (cb?: () => void): void
}

export class ScreenedUdpSocket extends EventEmitter {
  private readonly socket: dgram.Socket | SharedDatagramPort
  private oversized = 0
  private malformed = 0
  private failed = 0

  /** A dgram socket of its own (`type`), or the shared port it is given. */
  constructor (type: 'udp4' | 'udp6' | SharedDatagramPort = 'udp4') {
    super()
    this.socket = typeof type === 'string' ? dgram.createSocket(type) : type
    this.socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => { this.onMessage(msg, rinfo) })
    // Forwarded only when someone listens: k-rpc-socket does from its constructor on.
    this.socket.on('error', (err: Error) => { if (this.listenerCount('error') > 0) this.emit('error', err) })
    this.socket.on('listening', () => this.emit('listening'))
    this.socket.on('close', () => this.emit('close'))
  }

  get dropped (): DroppedDatagrams {
    return { oversized: this.oversized, malformed: this.malformed, failed: this.failed }
  }

  /** `bind([port], [address], [callback])`, forwarded as given (bittorrent-dht's listen()). */
  bind (port?: number, address?: string, callback?: () => void): void
  bind (...args: unknown[]): void {
    (this.socket.bind as (...a: unknown[]) => void).apply(this.socket, args)
  }

  address (): ReturnType<dgram.Socket['address']> {
    return this.socket.address()
  }

  send (msg: Uint8Array, offset: number, length: number, port: number, address: string, cb?: (err: Error | null, bytes: number) => void): void {
    this.socket.send(msg, offset, length, port, address, cb)
  }

  close (cb?: () => void): void {
    this.socket.close(cb)
  }

  private onMessage (msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length > MAX_DHT_DATAGRAM_BYTES) {
      this.oversized++
      return
    }
    try {
      scanBencode(msg)
    } catch {
      this.malformed++
      return
    }
    try {
      this.emit('message', msg, rinfo)
    } catch {
      // The library handles a datagram synchronously inside this emit and does not check field
      // types; a throw here would otherwise leave the dgram callback as an uncaught exception
      // and end the process. It costs only this datagram.
      this.failed++
    }
  }
}
