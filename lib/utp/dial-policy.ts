import { PeerConnectError } from '../wire/connect.js'

/**
 * Which transport a dial uses. `prefer` (default): both, TCP first and uTP after a head start
 * (below); `off` (`--no-utp`): TCP only; `only` (`--utp-only`): uTP only.
 *
 * Why TCP first, measured on loopback (bench/utp.ts, README.md here):
 * - A uTP dial to a peer that does not speak uTP takes libutp 21 s to give up (SYN retries at
 *   3, 6 and 12 s: it never sees the ICMP port-unreachable); a refused TCP dial fails in one
 *   round trip. Peers that speak only TCP are common (every Node client, aria2, rtorrent).
 * - uTP costs more: libutp moves ~1400-byte packets through a JS callback each, several times the
 *   CPU per GiB of TCP and a fraction of its loopback throughput.
 * - A peer speaking only uTP refuses the TCP dial at once (RST), so it gets its uTP dial after one
 *   round trip; only a peer whose TCP port silently drops SYNs waits the head start.
 * libtorrent tries uTP first because its own uTP is cheap and it favours LEDBAT's yielding to
 * other traffic; for a client streaming a file to stdout, throughput and CPU decide.
 */
export type UtpMode = 'prefer' | 'off' | 'only'
export const DEFAULT_UTP_MODE: UtpMode = 'prefer'

/**
 * How long TCP has to connect before uTP is tried alongside it. Above any real TCP connect
 * (a SYN-ACK within a few hundred ms), below the 3 s of a first SYN retransmission: a peer
 * whose TCP SYNs are dropped gets its uTP dial before TCP's own retry.
 */
export const DEFAULT_UTP_HEAD_START_MS = 1000

/**
 * The uTP connect timeout when uTP is the fallback (prefer): libutp retransmits an unanswered SYN
 * at 3 s; a live peer has answered the first or that one by then. A dead peer (TCP refused: most
 * often a client that quit) costs this, not the full 10 s, of a half-open slot.
 */
export const UTP_FALLBACK_CONNECT_TIMEOUT = 4000

/**
 * When TCP failed fast (refused: the host is up, nothing takes TCP there; or closed in the
 * handshake), the time it took is about one round trip to that host, and a uTP peer on it
 * answers our SYN within one more. So uTP gets this many of those round trips (at least
 * UTP_AFTER_TCP_FAILED_MIN_MS), not the full fallback timeout: a dead peer (most tracker
 * peers that refuse are clients that quit; their UDP port is closed too, and libutp never sees
 * the ICMP) costs ~0.5 s of a half-open slot instead of 4 s. The price: a uTP-only peer whose
 * first SYN is lost is missed this time (libutp resends it only at 3 s).
 */
export const UTP_AFTER_TCP_FAILED_RTTS = 8
export const UTP_AFTER_TCP_FAILED_MIN_MS = 500

export type Transport = 'tcp' | 'utp'

/** What a dial yields: a stream, or (what connect.ts passes) a PeerConnection past its handshake. */
export interface Destroyable { destroy (err?: Error): void }

export interface Dialed<T extends Destroyable> {
  readonly stream: T
  readonly transport: Transport
}

/**
 * One transport's dial: resolves when the peer is reachable over it, rejects when not. Pass the
 * dial *and the BitTorrent handshake*: libtorrent with incoming TCP off still accepts on its TCP
 * port and closes at once (measured), so "TCP connected" does not mean the peer talks over TCP.
 */
export type TransportDial<T extends Destroyable> = (signal: AbortSignal) => Promise<T>

export interface DialEitherOptions<T extends Destroyable> {
  readonly mode: UtpMode
  readonly tcp: TransportDial<T>
  /** Undefined when uTP is unavailable (the module did not load, no transport). */
  readonly utp?: TransportDial<T>
  readonly headStartMs?: number
  readonly signal?: AbortSignal
}

/**
 * Dials by `mode`: the first transport to connect wins and the other is cancelled (or its
 * stream destroyed, if it connected too). Rejects with the first transport's error (TCP's under
 * `prefer`) when every transport tried failed.
 */
export function dialEither<T extends Destroyable> (opts: DialEitherOptions<T>): Promise<Dialed<T>> {
  const order: Transport[] = opts.mode === 'off' || opts.utp === undefined ? ['tcp'] : opts.mode === 'only' ? ['utp'] : ['tcp', 'utp']
  if (opts.mode === 'only' && opts.utp === undefined) return Promise.reject(new PeerConnectError('uTP only, and uTP is unavailable'))
  return new Promise((resolve, reject) => {
    const controllers = new Map<Transport, AbortController>()
    const errors = new Map<Transport, Error>()
    let done = false
    let headStart: ReturnType<typeof setTimeout> | undefined
    let budget: ReturnType<typeof setTimeout> | undefined
    const started = Date.now()
    const finish = (): void => {
      done = true
      clearTimeout(headStart)
      clearTimeout(budget)
      opts.signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = (): void => {
      if (done) return
      finish()
      for (const c of controllers.values()) c.abort()
      reject(new PeerConnectError('aborted'))
    }
    const start = (t: Transport): void => {
      if (done || controllers.has(t)) return
      const ac = new AbortController()
      controllers.set(t, ac)
      const dial = t === 'tcp' ? opts.tcp : opts.utp as TransportDial<T>
      dial(ac.signal).then((stream) => {
        if (done) { stream.destroy(); return }
        finish()
        for (const [other, c] of controllers) if (other !== t) c.abort()
        resolve({ stream, transport: t })
      }, (err: Error) => {
        if (done) return
        errors.set(t, err)
        const next = order[order.indexOf(t) + 1]
        // TCP failed before its head start ran out (refused, or closed in the handshake): uTP at
        // once, for a few of the round trips TCP's failure took.
        if (next !== undefined && !controllers.has(next)) {
          const ms = Math.max(UTP_AFTER_TCP_FAILED_MIN_MS, UTP_AFTER_TCP_FAILED_RTTS * (Date.now() - started))
          start(next)
          budget = setTimeout(() => {
            if (done) return
            errors.set(next, new PeerConnectError(`no answer within ${ms} ms (after TCP failed)`))
            controllers.get(next)?.abort()
            settle()
          }, ms)
          return
        }
        settle()
      })
    }
    const settle = (): void => {
      if (done || errors.size < controllers.size) return // one is still trying
      finish()
      // The first transport's own error, as it was: the swarm classifies a failed dial by its
      // class, code and words (lib/swarm/peer-outcome.ts), and a refused or MSE-only peer must
      // read as that, not as uTP's timeout that followed.
      reject(errors.get(order[0] as Transport) as Error)
    }
    if (opts.signal?.aborted === true) { reject(new PeerConnectError('aborted')); return }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    start(order[0] as Transport)
    if (order.length > 1) headStart = setTimeout(() => { start(order[1] as Transport) }, opts.headStartMs ?? DEFAULT_UTP_HEAD_START_MS)
  })
}
