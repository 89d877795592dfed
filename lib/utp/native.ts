import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import { BtStreamError } from '../util/errors.js'

/**
 * The one place that loads `utp-native` (bindings to libutp, the reference uTP implementation).
 * It is an optionalDependency with a native binary: an install without it, or a platform its
 * prebuilds do not cover and no compiler, must still run over TCP. So it is loaded lazily, on the
 * first uTP use, inside a try/catch, and the outcome is cached: either the module, or a
 * UtpUnavailableError that says why and what to do. Nothing else in lib/ imports the package.
 *
 * The types below are the part of utp-native 2.5 we use (it ships none). Its connections are
 * readable-stream@3 Duplexes: Node-compatible (`pause`, `resume`, `unshift`, `cork`, `writev`).
 */

/** uTP is wanted but libutp could not be loaded: dials over uTP fail with it, TCP is unaffected. */
export class UtpUnavailableError extends BtStreamError {}

/** One uTP connection as utp-native makes it. */
export interface NativeUtpConnection extends Duplex {
  readonly remoteAddress: string
  readonly remotePort: number
  on (event: 'connect', listener: () => void): this
  on (event: string | symbol, listener: (...args: any[]) => void): this
}

/** One UDP socket with libutp on it: many connections, plus the datagrams libutp did not claim. */
export interface NativeUtpSocket {
  /** Open connections (both directions), maintained by utp-native. */
  readonly connections: readonly NativeUtpConnection[]
  /** `true`: libutp drops new SYNs (the firewall callback); utp-native resets it to false when a connection closes. */
  firewall (yes: boolean): void
  listen (port: number, host: string, onListening?: () => void): void
  bind (port: number, host: string, onListening?: () => void): void
  connect (port: number, host: string): NativeUtpConnection
  address (): { address: string, family: string, port: number }
  send (buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void
  close (cb?: () => void): void
  ref (): void
  setRecvBufferSize (bytes: number): number
  setSendBufferSize (bytes: number): number
  getRecvBufferSize (): number
  unref (): void
  on (event: 'connection', listener: (c: NativeUtpConnection) => void): this
  on (event: 'message', listener: (msg: Buffer, rinfo: { address: string, family: string, port: number }) => void): this
  on (event: 'error', listener: (err: Error) => void): this
  on (event: 'listening' | 'close', listener: () => void): this
  once (event: 'listening' | 'close', listener: () => void): this
  once (event: 'error', listener: (err: Error) => void): this
  off (event: string, listener: (...args: any[]) => void): this
}

export interface UtpNative {
  /** A new UDP socket with libutp (utp-native's `UTP` constructor). */
  createSocket (): NativeUtpSocket
}

/** The package the loader asks for; tests name a missing one to simulate a failed install. */
export const UTP_NATIVE_PACKAGE = 'utp-native'

const cache = new Map<string, UtpNative | UtpUnavailableError>()

/**
 * utp-native, or the reason it cannot be used. Never throws; the result is cached per package
 * name (a failed native load does not get better on retry, and each try costs a filesystem walk).
 */
export function loadUtpNative (pkg: string = UTP_NATIVE_PACKAGE): UtpNative | UtpUnavailableError {
  const known = cache.get(pkg)
  if (known !== undefined) return known
  let result: UtpNative | UtpUnavailableError
  try {
    const require = createRequire(import.meta.url)
    const mod = require(pkg) as { createServer?: unknown } & (new (opts?: { allowHalfOpen?: boolean }) => NativeUtpSocket)
    if (typeof mod !== 'function' || typeof mod.createServer !== 'function') throw new TypeError(`${pkg} does not export utp-native's UTP constructor`)
    // allowHalfOpen: false: a peer's FIN ends the connection both ways, as the wire expects
    // (a BitTorrent peer that stops sending is gone; nothing is half-closed on purpose).
    result = { createSocket: () => new mod({ allowHalfOpen: false }) }
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    result = new UtpUnavailableError(
      `uTP is unavailable: the optional package ${pkg} (libutp bindings) could not be loaded (${why}). ` +
      'TCP still works; install it with `npm install utp-native`, or pass --no-utp to stop asking for it.',
      { cause: err }
    )
  }
  cache.set(pkg, result)
  return result
}
