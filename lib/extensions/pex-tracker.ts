import { formatPeer, type PeerAddress } from '../tracker/compact.js'
import { backlogged } from '../seed/reply-gate.js'
import { peerExtensionId, type ExtensionPeer } from './extension-ids.js'
import { decodePex, encodePex, PEX_MAX_PER_MESSAGE, type PexFlags, type PexPeer } from './pex-codec.js'

/**
 * BEP 11 peer exchange for one torrent: tells each connected peer which peers we are connected
 * to (added) and which we lost (dropped), and passes the peers others tell us to `onPeers`
 * (the engine's peer pool). One instance per torrent; the engine owns the connections and calls:
 * - `connected(conn, contact)` once a connection is handshaken (contact: its listen address),
 * - `disconnected(conn)` when it closes,
 * - `onExtended(conn, payload)` for an extended message on our ut_pex id,
 * - `sendDue()` every few seconds (or sends `buildMessage(conn)` itself).
 *
 * Outgoing, per BEP 11: at most one message per `interval` (a minute) per peer; at most 50
 * added and 50 dropped per message (the rest wait for the next one); only peers we are
 * connected to now are added; a peer is dropped only after we added it; never both in one
 * message; never the recipient itself; nothing to a peer that has not read what we sent (the
 * reply gate's `backlogged`: it is told the difference once it reads). Transient
 * connect/disconnect between two messages cancel out, because each message is the difference
 * between what the peer was told and now.
 *
 * Incoming: a message sooner than `minInboundInterval` after the previous one from the same
 * peer is ignored, and at most `maxAcceptedPerMessage` added peers are read from a message,
 * so a flooding peer yields a bounded number of addresses per minute.
 *
 * BEP 27: with `private: true` nothing is sent and nothing received is used.
 */
export interface PexContact extends PeerAddress {
  /** We dialed it (so it is reachable), it is a seed, it speaks uTP, it prefers encryption. */
  readonly outgoing?: boolean
  readonly seed?: boolean
  readonly utp?: boolean
  readonly encryption?: boolean
}

export interface PexTrackerOptions<C> {
  /** Peers learned from `from`: feed them to the pool. Must not throw. */
  readonly onPeers: (peers: PexPeer[], from: C) => void
  readonly private?: boolean
  /** Clock in ms (tests inject one). */
  readonly now?: () => number
  /** BEP 11: "no more than 1 PEX message per minute". */
  readonly interval?: number
  readonly maxPerMessage?: number
  readonly minInboundInterval?: number
  readonly maxAcceptedPerMessage?: number
}

export const PEX_INTERVAL = 60_000
/** Clients time their minute loosely; only clearly faster senders are ignored. */
export const PEX_MIN_INBOUND_INTERVAL = 45_000
/** Twice the spec's 50: room for a generous initial message, a bound for a flood. */
export const PEX_MAX_ACCEPTED_PER_MESSAGE = 2 * PEX_MAX_PER_MESSAGE

interface PeerState {
  contact: PexContact | undefined
  /** What this peer was told is connected (key → address). */
  readonly told: Map<string, PexPeer>
  lastSent: number | undefined
  lastReceived: number | undefined
}

export class PexTracker<C extends ExtensionPeer = ExtensionPeer> {
  private readonly _opts: PexTrackerOptions<C>
  private readonly _peers = new Map<C, PeerState>()
  private readonly _now: () => number
  private _disabled = false
  /** Inbound messages ignored (too soon, malformed): for logs and tests. */
  ignoredMessages = 0

  constructor (opts: PexTrackerOptions<C>) {
    this._opts = opts
    this._now = opts.now ?? Date.now
  }

  get enabled (): boolean { return this._opts.private !== true && !this._disabled }

  /**
   * BEP 27 for a magnet: the metadata just showed a private torrent, so PEX stops for good (the
   * ut_pex we advertised before knowing stays unanswered and unused).
   */
  disable (): void {
    this._disabled = true
    this._peers.clear()
  }

  /** `contact` undefined: a peer we may not name yet (it dialed us; its listen port is unknown). */
  connected (conn: C, contact: PexContact | undefined): void {
    if (!this.enabled) return
    const s = this._peers.get(conn)
    if (s === undefined) this._peers.set(conn, { contact, told: new Map(), lastSent: undefined, lastReceived: undefined })
    else s.contact = contact
  }

  disconnected (conn: C): void {
    this._peers.delete(conn)
  }

  /**
   * An extended message on our ut_pex id from a peer given to `connected` (others are ignored:
   * a message read after the close must not bring the peer back). Returns how many peers went
   * to `onPeers`.
   */
  onExtended (conn: C, payload: Uint8Array): number {
    const s = this._peers.get(conn)
    if (!this.enabled || s === undefined) return 0
    const now = this._now()
    const min = this._opts.minInboundInterval ?? PEX_MIN_INBOUND_INTERVAL
    if (s.lastReceived !== undefined && now - s.lastReceived < min) { this.ignoredMessages++; return 0 }
    s.lastReceived = now
    let added: PexPeer[]
    try {
      const max = this._opts.maxAcceptedPerMessage ?? PEX_MAX_ACCEPTED_PER_MESSAGE
      added = [...decodePex(payload, { maxAdded: max, maxDropped: max }).added]
    } catch {
      this.ignoredMessages++
      return 0
    }
    // A peer telling us about itself adds nothing.
    const self = s.contact === undefined ? undefined : formatPeer(s.contact)
    added = added.filter(p => formatPeer(p) !== self)
    if (added.length === 0) return 0
    try {
      this._opts.onPeers(added, conn)
    } catch {
      // The engine's callback failing must not break the connection's reader.
    }
    return added.length
  }

  /**
   * The next message for `conn`, or undefined when none is due: PEX disabled, the peer does not
   * offer ut_pex, less than `interval` since the last one, or nothing changed. Marks what it
   * returns as told, so send it.
   */
  buildMessage (conn: C): Uint8Array | undefined {
    const s = this._peers.get(conn)
    if (!this.enabled || s === undefined || peerExtensionId(conn, 'ut_pex') === undefined) return undefined
    const now = this._now()
    if (s.lastSent !== undefined && now - s.lastSent < (this._opts.interval ?? PEX_INTERVAL)) return undefined
    const max = this._opts.maxPerMessage ?? PEX_MAX_PER_MESSAGE
    const current = this._connectedExcept(conn)
    const added: PexPeer[] = []
    for (const [key, peer] of current) {
      if (added.length >= max) break
      if (!s.told.has(key)) added.push(peer)
    }
    const dropped: PexPeer[] = []
    for (const [key, peer] of s.told) {
      if (dropped.length >= max) break
      if (!current.has(key)) dropped.push(peer)
    }
    if (added.length === 0 && dropped.length === 0) return undefined
    for (const p of added) s.told.set(formatPeer(p), p)
    for (const p of dropped) s.told.delete(formatPeer(p))
    s.lastSent = now
    return encodePex({ added, dropped: dropped.map(p => ({ host: p.host, port: p.port })) })
  }

  /** Sends every due message; returns how many went out. */
  sendDue (): number {
    let sent = 0
    for (const conn of this._peers.keys()) {
      // A peer that has not read what we sent gets nothing more (and is told the difference later).
      if (conn.destroyed === true || backlogged(conn)) continue
      const payload = this.buildMessage(conn)
      const id = peerExtensionId(conn, 'ut_pex')
      if (payload === undefined || id === undefined) continue
      conn.extended(id, payload)
      sent++
    }
    return sent
  }

  /** Every connected peer's listen address but the recipient's, one entry per address. */
  private _connectedExcept (conn: C): Map<string, PexPeer> {
    const out = new Map<string, PexPeer>()
    const recipient = this._peers.get(conn)?.contact
    const skip = recipient === undefined ? undefined : formatPeer(recipient)
    for (const [c, s] of this._peers) {
      if (c === conn || s.contact === undefined || c.destroyed === true) continue
      const key = formatPeer(s.contact)
      if (key === skip || out.has(key)) continue
      out.set(key, { host: s.contact.host, port: s.contact.port, flags: flagsOf(s.contact) })
    }
    return out
  }
}

function flagsOf (c: PexContact): PexFlags {
  return { encryption: c.encryption === true, seed: c.seed === true, utp: c.utp === true, holepunch: false, reachable: c.outgoing === true }
}
