import { EventEmitter } from 'node:events'
import type { NativeUtpSocket } from './native.js'

/**
 * The non-uTP datagrams of a UtpTransport's UDP socket, with a dgram-like face, so the DHT can
 * share the port (libtorrent does: one UDP port for uTP and BEP 5). libutp claims a datagram only
 * when it parses as uTP version 1 (first byte 0x?1, with a known type): a bencoded DHT message
 * starts with `d` (0x64, "version 4") and is never taken. Everything libutp leaves is re-emitted
 * here as 'message' (msg, rinfo); nothing is parsed or trusted here: the DHT's own screen
 * (lib/dht/screened-socket.ts) bounds and checks it as it does a dgram socket's.
 *
 * What a dgram user gets: on('message' | 'listening' | 'close' | 'error'), address(),
 * send(buf, offset, length, port, host, cb), bind() (already bound: calls back at once) and
 * close() (lets go: the transport owns the socket and closes it).
 */
export interface DatagramRemoteInfo {
  readonly address: string
  readonly family: string
  readonly port: number
  readonly size: number
}

export class UtpDatagrams extends EventEmitter {
  private readonly _socket: NativeUtpSocket
  private readonly _port: () => number
  private _released = false

  constructor (socket: NativeUtpSocket, port: () => number) {
    super()
    this._socket = socket
    this._port = port
    socket.on('message', (msg, rinfo) => {
      if (this._released || this.listenerCount('message') === 0) return
      this.emit('message', msg, { address: rinfo.address, family: rinfo.family, port: rinfo.port, size: msg.length })
    })
    socket.on('close', () => { this.emit('close') })
  }

  /** Already bound by the transport: reports listening, whatever port was asked for. */
  bind (...args: unknown[]): void {
    const cb = args.find((a): a is () => void => typeof a === 'function')
    queueMicrotask(() => {
      this.emit('listening')
      cb?.()
    })
  }

  address (): { address: string, family: string, port: number } {
    return this._socket.address()
  }

  get port (): number { return this._port() }

  send (msg: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null, bytes: number) => void): void {
    if (this._released) { queueMicrotask(() => cb?.(new Error('the datagram port is closed'), 0)); return }
    this._socket.send(msg, offset, length, port, host, (err) => { cb?.(err, err === null ? length : 0) })
  }

  /** The DHT is done with it; the transport keeps the socket for uTP. */
  close (cb?: () => void): void {
    this._released = true
    queueMicrotask(() => {
      this.emit('close')
      cb?.()
    })
  }
}
