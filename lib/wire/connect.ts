import { connect as netConnect, type Socket } from 'node:net'
import { EncryptedStream } from '../crypto/encrypted-stream.js'
import { MseError } from '../crypto/errors.js'
import { CRYPTO_PLAINTEXT, CRYPTO_RC4 } from '../crypto/mse-handshake.js'
import { BtStreamError, ProtocolError } from '../util/errors.js'
import { dialEither, DEFAULT_UTP_MODE, UTP_FALLBACK_CONNECT_TIMEOUT, type UtpMode } from '../utp/dial-policy.js'
import type { UtpTransport } from '../utp/transport.js'
import { BorrowedReads } from './borrowed-reads.js'
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
  /** MSE/PE protocol encryption (see lib/crypto/README.md); default 'prefer'. */
  readonly encryption?: EncryptionPolicy
  /** uTP (BEP 29): the transport to dial over; undefined: TCP only. */
  readonly utp?: UtpTransport
  /** Which transport a dial uses when `utp` is given (lib/utp/README.md); default 'prefer'. */
  readonly utpMode?: UtpMode
}

export const DEFAULT_CONNECT_TIMEOUT = 10_000

/**
 * 'prefer': reach every peer; plaintext first, and MSE (RC4 or plaintext, the peer picks) on a
 * new connection when the peer closes on our plaintext handshake (what a peer that requires
 * encryption does). 'require': MSE with RC4 only, never plaintext. 'off': plaintext only.
 * Why plaintext first: lib/crypto/README.md (measured: a plaintext peer pays nothing, an
 * MSE-only peer one failed connection; MSE first costs a plaintext-only peer a failed
 * connection and every MSE peer a round trip and the RC4 CPU).
 */
export type EncryptionPolicy = 'prefer' | 'require' | 'off'
export const DEFAULT_ENCRYPTION: EncryptionPolicy = 'prefer'
type Attempt = 'plaintext' | 'mse'
const ATTEMPTS: Record<EncryptionPolicy, readonly Attempt[]> = { prefer: ['plaintext', 'mse'], require: ['mse'], off: ['plaintext'] }
/**
 * Under 'prefer', peers that refused plaintext and took MSE ("host:port"): the next dial to them
 * starts with MSE, so the failed connection is paid once per peer, not once per reconnect.
 * Insertion-ordered, oldest dropped past the bound (an entry is 30-odd bytes).
 */
const MSE_FIRST = new Map<string, true>()
const MSE_FIRST_MAX = 4096

type Transport = 'tcp' | 'utp'

/**
 * Dials a peer over TCP (and uTP, when `utp` is given: `utpMode` says which first, see
 * lib/utp/dial-policy.ts) and resolves with its PeerConnection once both handshakes are done.
 * Rejects with PeerConnectError when the connect fails or times out, with ProtocolError when
 * the handshake does (wrong info hash, garbage, handshake timeout).
 */
export async function connect (opts: ConnectOptions): Promise<PeerConnection> {
  const utp = opts.utp
  const mode = opts.utpMode ?? DEFAULT_UTP_MODE
  if (utp === undefined && mode !== 'only') return await connectOver(opts, 'tcp')
  const { stream } = await dialEither<PeerConnection>({
    mode,
    signal: opts.signal,
    tcp: (signal) => connectOver({ ...opts, signal }, 'tcp'),
    ...(utp === undefined
      ? {}
      : {
          utp: (signal: AbortSignal) => connectOver({
            ...opts,
            signal,
            // A fallback need not wait libutp's 21 s: a live uTP peer answers the SYN (or its
            // retransmission at 3 s) well within this.
            connectTimeout: mode === 'prefer' ? Math.min(opts.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT, UTP_FALLBACK_CONNECT_TIMEOUT) : opts.connectTimeout
          }, 'utp')
        })
  })
  return stream
}

/** One transport: plaintext or MSE by the encryption policy, retried as it says. */
async function connectOver (opts: ConnectOptions, transport: Transport): Promise<PeerConnection> {
  const policy = opts.encryption ?? DEFAULT_ENCRYPTION
  const key = `${opts.host}:${opts.port}`
  const attempts = policy === 'prefer' && MSE_FIRST.has(key) ? ['mse', 'plaintext'] as const : ATTEMPTS[policy]
  for (let i = 0; ; i++) {
    const attempt = attempts[i] as Attempt
    try {
      const conn = await connectOnce(opts, attempt, policy, transport)
      if (policy === 'prefer') rememberMseFirst(key, attempt === 'mse')
      return conn
    } catch (err) {
      if (i + 1 >= attempts.length || opts.signal?.aborted === true || !refusedOnly(err, attempt)) throw err
    }
  }
}

function rememberMseFirst (key: string, mse: boolean): void {
  MSE_FIRST.delete(key)
  if (!mse) return
  MSE_FIRST.set(key, true)
  if (MSE_FIRST.size > MSE_FIRST_MAX) MSE_FIRST.delete(MSE_FIRST.keys().next().value as string)
}

/**
 * The peer turned the handshake down rather than failed it: worth the next kind of connection.
 * Plaintext: it closed (or reset) before its handshake, what a peer requiring encryption does.
 * MSE: anything inside the MSE handshake (a plaintext-only peer closes on our key, or waits).
 */
function refusedOnly (err: unknown, attempt: Attempt): boolean {
  if (err instanceof PeerConnectError) return false
  if (attempt === 'mse') return err instanceof MseError
  if (err instanceof ProtocolError) return /(during|before) the handshake/.test(err.message)
  const code = (err as { code?: unknown }).code
  return code === 'ECONNRESET' || code === 'EPIPE'
}

async function connectOnce (opts: ConnectOptions, attempt: Attempt, policy: EncryptionPolicy, transport: Transport): Promise<PeerConnection> {
  const timeout = opts.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT
  // A plaintext TCP socket is read straight into one reused buffer; MSE and uTP read their own way.
  const reads = attempt === 'plaintext' && transport === 'tcp' ? new BorrowedReads() : undefined
  const socket = transport === 'utp' && opts.utp !== undefined
    ? await opts.utp.dial(opts.host, opts.port, { timeout, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
    : await dial(opts.host, opts.port, timeout, opts.signal, reads)
  const stream = attempt === 'plaintext'
    ? socket
    : new EncryptedStream(socket, {
      role: 'initiator',
      infoHash: opts.infoHash,
      // 'require' means encrypted: RC4 only. 'prefer' lets the peer choose (libtorrent picks plaintext).
      provide: policy === 'require' ? CRYPTO_RC4 : CRYPTO_RC4 | CRYPTO_PLAINTEXT,
      ...(opts.handshakeTimeout !== undefined ? { handshakeTimeout: opts.handshakeTimeout } : {})
    })
  const conn = new PeerConnection(stream, reads === undefined ? opts : { ...opts, reads })
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

function dial (host: string, port: number, timeout: number, signal: AbortSignal | undefined, reads?: BorrowedReads): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) { reject(new PeerConnectError('aborted')); return }
    const socket = netConnect(reads === undefined ? { host, port } : { host, port, onread: reads.onread })
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
