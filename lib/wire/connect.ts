import { connect as netConnect, type Socket } from 'node:net'
import { BtStreamError, ProtocolError } from '../util/errors.js'
import { PeerConnection, type PeerConnectionOptions, type PeerHandshake } from './peer-connection.js'

/** A peer we could not reach (refused, unreachable, timed out): costs us that peer. */
export class PeerConnectError extends BtStreamError {}

export interface ConnectOptions extends Omit<PeerConnectionOptions, 'accept' | 'infoHash'> {
  readonly host: string
  readonly port: number
  readonly infoHash: Uint8Array
  /** Give up on the TCP connect after this long (default 10 s). */
  readonly connectTimeout?: number
  readonly signal?: AbortSignal
}

export const DEFAULT_CONNECT_TIMEOUT = 10_000

/**
 * Dials a peer over TCP and resolves with its PeerConnection once both handshakes are done.
 * Rejects with PeerConnectError when the TCP connect fails or times out, with ProtocolError when
 * the handshake does (wrong info hash, garbage, handshake timeout).
 */
export async function connect (opts: ConnectOptions): Promise<PeerConnection> {
  const socket = await dial(opts.host, opts.port, opts.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT, opts.signal)
  const conn = new PeerConnection(socket, opts)
  const onAbort = (): void => { conn.destroy(new PeerConnectError('aborted')) }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await waitForHandshake(conn)
    return conn
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Wraps a socket a peer opened to us (seeding): the info hash comes from the peer's handshake
 * and `accept` decides whether we serve it. Resolves once both handshakes are done.
 */
export async function acceptPeer (socket: Socket, opts: Omit<PeerConnectionOptions, 'infoHash'> & Required<Pick<PeerConnectionOptions, 'accept'>>): Promise<PeerConnection> {
  socket.setNoDelay(true)
  const conn = new PeerConnection(socket, opts)
  await waitForHandshake(conn)
  return conn
}

function dial (host: string, port: number, timeout: number, signal: AbortSignal | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) { reject(new PeerConnectError('aborted')); return }
    const socket = netConnect({ host, port })
    const fail = (err: Error): void => {
      cleanup()
      socket.destroy()
      reject(err instanceof BtStreamError ? err : new PeerConnectError(`cannot connect to ${host}:${port}: ${err.message}`, { cause: err }))
    }
    const timer = setTimeout(() => { fail(new PeerConnectError(`cannot connect to ${host}:${port}: no answer within ${timeout} ms`)) }, timeout)
    const onAbort = (): void => { fail(new PeerConnectError('aborted')) }
    const onConnect = (): void => {
      cleanup()
      // Until the PeerConnection takes the socket (a microtask later) an error must not be fatal;
      // the PeerConnection sees the socket closed and reports it.
      socket.on('error', ignoreUntilOwned)
      // Requests and haves are small writes: Nagle would hold them for the peer's delayed ACK
      // (~40 ms measured here), stalling the pipeline. libtorrent sets TCP_NODELAY too.
      socket.setNoDelay(true)
      resolve(socket)
    }
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('connect', onConnect)
      socket.off('error', fail)
      signal?.removeEventListener('abort', onAbort)
    }
    socket.once('connect', onConnect)
    socket.once('error', fail)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function ignoreUntilOwned (): void {}

/** Resolves with the peer's handshake once the connection opens; rejects with why it closed. */
export function waitForHandshake (conn: PeerConnection): Promise<PeerHandshake> {
  return new Promise((resolve, reject) => {
    if (conn.peerHandshake !== undefined) { resolve(conn.peerHandshake); return }
    const onHandshake = (h: PeerHandshake): void => { resolve(h) }
    conn.once('handshake', onHandshake)
    // The connection records its own close reason (it always listens for 'error' itself), so
    // nothing here has to stay attached once the handshake is in.
    conn.whenClosed((reason) => {
      conn.off('handshake', onHandshake)
      reject(reason ?? new ProtocolError('connection closed before the handshake'))
    })
  })
}
