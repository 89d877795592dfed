/**
 * What became of a peer we tried, in words a user can act on. A dial's error is classified once,
 * where the pool sees it (`classifyDialError`); "no peer answered" then says *how* they did not:
 * refused, silent, closed during the handshake (most often: the peer requires encryption, which
 * we do not speak), answered for another torrent. Pure, so each wording is tested on its own.
 */
import { PeerConnectError } from '../wire/connect.js'
import { SelfConnectionError } from '../wire/peer-connection.js'

/** A dial that failed, by what the remote end did. */
export type DialFailure =
  /** TCP RST on connect: nobody listens on that port. */
  | 'refused'
  /** No answer to our SYN within the connect timeout (firewalled, gone). */
  | 'connect-timeout'
  /** Any other connect error (no route, DNS, address family). */
  | 'unreachable'
  /** TCP connected, then the peer closed or reset before its handshake: most often it requires MSE encryption. */
  | 'closed-in-handshake'
  /** It answered with another info hash. */
  | 'wrong-torrent'
  /** Its first bytes are not a BitTorrent handshake. */
  | 'not-bittorrent'
  /** Connected, and its handshake never came. */
  | 'handshake-timeout'
  /** Our own listener (same peer id). */
  | 'ourselves'
  /** Anything else (a bug, or an error we have no words for). */
  | 'failed'

/**
 * The last thing a known, not connected peer did, as the pool saw it: a dial failure, or a
 * connection that ended, with (`left`) or without (`dropped`) giving us data; `pending` has not
 * been dialed to the end yet; `banned` was banned (its own count in the pool's stats).
 */
export type PeerOutcome = DialFailure | 'dropped' | 'left' | 'pending' | 'banned'

export type PeerOutcomes = Readonly<Partial<Record<PeerOutcome, number>>>

/** The dial failures: a peer with one of these never completed a handshake with us. */
export const DIAL_FAILURES: readonly DialFailure[] = [
  'refused', 'connect-timeout', 'unreachable', 'closed-in-handshake', 'wrong-torrent',
  'not-bittorrent', 'handshake-timeout', 'ourselves', 'failed'
]

/** Socket error codes that mean the peer cut the connection (during a dial: during the handshake). */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

/**
 * Why a dial (TCP connect + BitTorrent handshake, lib/wire/connect.ts) failed. The wire's errors
 * are matched by class where they have one, else by the messages lib/wire raises (listed in
 * test/swarm/stall-outcomes.test.ts; a new wording there falls back to `failed`, never throws).
 */
export function classifyDialError (err: Error): DialFailure {
  if (err instanceof SelfConnectionError) return 'ourselves'
  const code = errorCode(err)
  if (err instanceof PeerConnectError) {
    if (code === 'ECONNREFUSED') return 'refused'
    if (code === 'ETIMEDOUT' || /no answer within/.test(err.message)) return 'connect-timeout'
    return 'unreachable'
  }
  const m = err.message
  if (/answered for info hash|not serving info hash/.test(m)) return 'wrong-torrent'
  if (/not a BitTorrent handshake|^handshake of \d+ bytes/.test(m)) return 'not-bittorrent'
  if (/no handshake within/.test(m)) return 'handshake-timeout'
  if (/closed? (the connection )?(during|before) the handshake|connection closed during the handshake/.test(m)) return 'closed-in-handshake'
  if (code !== undefined && RESET_CODES.has(code)) return 'closed-in-handshake'
  if (code === 'ECONNREFUSED') return 'refused'
  return 'failed'
}

function errorCode (err: Error): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code
    if (typeof code === 'string') return code
  }
  return undefined
}

/** What `n` peers did, as the rest of "N peers ..." (same verb for one or many). */
const WORDS: Record<PeerOutcome, string> = {
  refused: 'refused the connection',
  'connect-timeout': 'did not answer the connection',
  unreachable: 'could not be reached',
  'closed-in-handshake': 'closed the connection during the handshake (they may require encryption)',
  'wrong-torrent': 'answered for another torrent',
  'not-bittorrent': 'did not answer with a BitTorrent handshake',
  'handshake-timeout': 'sent no handshake',
  ourselves: 'turned out to be ourselves',
  failed: 'failed for other reasons',
  dropped: 'closed the connection before sending any data',
  left: 'sent data, then left',
  pending: 'still being tried',
  banned: 'banned for bad data'
}

/** What a peer with this outcome did, as the rest of "1 peer ...". */
export function outcomeWords (o: PeerOutcome): string {
  return WORDS[o]
}

/** The order outcomes are listed in: what the user can most likely do something about first. */
const ORDER: readonly PeerOutcome[] = [
  'closed-in-handshake', 'wrong-torrent', 'refused', 'connect-timeout', 'unreachable',
  'not-bittorrent', 'handshake-timeout', 'dropped', 'left', 'banned', 'ourselves', 'failed', 'pending'
]

/** True when every counted peer failed before completing a handshake. */
export function onlyDialFailures (o: PeerOutcomes): boolean {
  let any = false
  for (const [k, n] of Object.entries(o) as Array<[PeerOutcome, number]>) {
    if (n <= 0) continue
    if (!(DIAL_FAILURES as readonly string[]).includes(k)) return false
    any = true
  }
  return any
}

/**
 * "2 peers closed the connection during the handshake (...), 1 answered for another torrent":
 * the noun on the first count only, as one says it. Empty when nothing was counted.
 */
export function describeOutcomes (o: PeerOutcomes): string {
  return describeCounts(ORDER.flatMap(k => { const n = o[k] ?? 0; return n > 0 ? [[WORDS[k], n] as const] : [] }))
}

/** The same sentence for any (phrase, count) list, in the order given. */
export function describeCounts (counts: ReadonlyArray<readonly [string, number]>): string {
  return counts.map(([words, n], i) => i === 0 ? `${n} peer${n === 1 ? '' : 's'} ${words}` : `${n} ${words}`).join(', ')
}
