import { isIPv4 } from 'node:net'
import type { PeerListener } from '../seed/listener.js'
import { BtStreamError } from '../util/errors.js'
import { DEFAULT_UTP_MODE, type UtpMode } from './dial-policy.js'
import { loadUtpNative, UtpUnavailableError } from './native.js'
import { UtpTransport } from './transport.js'

/** The uTP options of every session (download, download to disk, seed, magnet metadata). */
export interface UtpOptions {
  /** `prefer` (default), `off` (`--no-utp`), `only` (`--utp-only`): lib/utp/dial-policy.ts. */
  readonly utp?: UtpMode
  /** Told once why uTP is not used although wanted (utp-native missing, UDP port taken). */
  readonly onUtpWarning?: (message: string) => void
}

export interface OpenSessionUtp {
  /** The listener whose port number the transport shares, and which takes its inbound peers. */
  readonly listener?: PeerListener
  /** Address to bind (the listener's). */
  readonly host?: string
  /** The bindings (default: loadUtpNative()); tests pass a failed load. */
  readonly native?: ReturnType<typeof loadUtpNative>
}

/**
 * The uTP transport of one session, or undefined when it dials TCP only. With a listener it
 * binds the listener's port number (UDP) and hands inbound uTP peers to it; without one (the
 * stdout mode, which accepts no peers) it binds any free port and accepts nothing.
 * `off`: undefined. utp-native missing: undefined and a warning under `prefer`, the
 * UtpUnavailableError under `only` (nothing could be reached). The listener's UDP port taken:
 * a warning, and a dial-only transport on a free port (peers can still be reached over uTP).
 * No UDP socket at all: a warning and TCP only (`only`: the error).
 */
export async function openSessionUtp (opts: UtpOptions, where: OpenSessionUtp = {}): Promise<UtpTransport | undefined> {
  const mode = opts.utp ?? DEFAULT_UTP_MODE
  if (mode === 'off') return undefined
  const native = where.native ?? loadUtpNative()
  if (native instanceof UtpUnavailableError) {
    if (mode === 'only') throw native
    opts.onUtpWarning?.(native.message)
    return undefined
  }
  // utp-native binds IPv4 only: an IPv6 listen address gets uTP on every IPv4 interface.
  const host = where.host !== undefined && isIPv4(where.host) ? where.host : undefined
  const at = host !== undefined ? { host } : {}
  try {
    if (where.listener === undefined) return await UtpTransport.open({ native, accept: false, ...at })
    try {
      const transport = await UtpTransport.open({ native, port: where.listener.port, ...at })
      where.listener.attachUtp(transport)
      return transport
    } catch (err) {
      opts.onUtpWarning?.(`no inbound uTP: ${(err as Error).message}; dialing over uTP from another port`)
      return await UtpTransport.open({ native, accept: false, ...at })
    }
  } catch (err) {
    if (mode === 'only') throw err
    opts.onUtpWarning?.(`no uTP: ${(err as Error).message}; TCP only`)
    return undefined
  }
}

/** `--no-utp` / `--utp-only` as a mode; both at once is a usage error (the caller's class). */
export function utpModeOf (noUtp: boolean, utpOnly: boolean): UtpMode {
  if (noUtp && utpOnly) throw new BtStreamError('--no-utp and --utp-only exclude each other')
  return noUtp ? 'off' : utpOnly ? 'only' : DEFAULT_UTP_MODE
}
