/**
 * The one bound on what a peer can make us queue for it by asking.
 *
 * Every answer we write because a peer asked (BEP 6 rejects, BEP 9 data and rejects, the
 * Uploader's choke/unchoke that makes a peer ask again) goes through `mayReply(conn)` first. A
 * PeerConnection's write completes only when its socket took the bytes, so what a peer that never
 * reads its socket makes us answer waits in memory: in the connection's write queue, then in the
 * socket's buffer. The gate measures that backlog (`replyBacklog`); at `cap` or above, the answer
 * is dropped rather than queued (BEP 9 lets us reject, and a peer that reads nothing learns
 * nothing from a reject either). A peer whose answers keep being dropped, `maxDropped` in a row
 * with nothing admitted in between, asks without reading: its connection is destroyed.
 *
 * BEP 3 pieces do not pass here: the Uploader starts no disk read while the connection is
 * backpressured (its own bound, below `cap`), so a peer's requests wait as small entries in its
 * bounded queue (held-requests.ts), not as blocks in memory. What we send on our own initiative
 * asks `backlogged(conn)` and waits for a later round: PEX (one message a minute) and haves.
 * Keep-alives are timed (one per two minutes of silence, lib/wire/liveness.ts).
 *
 * Cost: at most `cap` bytes of backlog (wire bytes plus a per-message cost for the objects a
 * small message needs, so 17-byte rejects cannot hide a large heap behind a small byte count),
 * plus one message, per connection; and what the kernel's socket buffers hold.
 */
import { ProtocolError } from '../util/errors.js'

/**
 * 1 MiB: above anything the data path queues on its own (the connection's 256 KiB high-water
 * mark plus 4 blocks being read, in its queue and once more in the socket's), so an honest peer
 * on a slow link never loses an answer; and small enough that 50 peers that never read cost
 * tens of MiB at most.
 */
export const REPLY_BACKLOG_CAP = 1024 * 1024

/**
 * Heap bytes one queued message costs beyond its wire bytes (the message object in the write
 * queue, its encoded header buffer in the socket's): a 17-byte reject weighs 17 + 128.
 */
export const QUEUED_MESSAGE_COST = 128

/**
 * Answers dropped in a row before the peer is dropped: well past a burst from a peer that is
 * merely slow (an honest client never asks for thousands of answers it does not read), and a
 * few thousand small messages of parsing at most.
 */
export const MAX_DROPPED_REPLIES = 4096

/** A connection the gate can weigh and close: a PeerConnection is one; test fakes may be partial. */
export interface ReplyTarget {
  /** Bytes written and not yet taken by the socket, if the connection says (PeerConnection does not yet). */
  readonly writableBufferedBytes?: number
  /** Messages written and not yet handed to the socket, if the connection says. */
  readonly writableBufferedMessages?: number
  readonly destroying?: boolean
  readonly destroyed?: boolean
  destroy?: (err?: Error) => void
}

export interface ReplyLimits {
  readonly cap?: number
  readonly maxDropped?: number
}

interface StreamxWritableState { readonly buffered?: unknown, readonly queue?: { readonly length?: unknown } }
interface Internals {
  readonly _writableState?: StreamxWritableState
  readonly socket?: { readonly writableLength?: unknown }
}

const num = (v: unknown): number => typeof v === 'number' && Number.isFinite(v) ? v : 0

/**
 * What `conn` holds for its peer and the socket has not taken yet, in bytes plus a per-message
 * cost. Prefers the connection's own accessors; otherwise reads a streamx Duplex's write queue
 * (`_writableState`) and the Node socket under it (`socket.writableLength`).
 */
export function replyBacklog (conn: ReplyTarget): number {
  if (typeof conn.writableBufferedBytes === 'number') {
    return conn.writableBufferedBytes + QUEUED_MESSAGE_COST * num(conn.writableBufferedMessages)
  }
  const c = conn as Internals
  const ws = c._writableState
  return num(ws?.buffered) + QUEUED_MESSAGE_COST * num(ws?.queue?.length) + num(c.socket?.writableLength)
}

/**
 * True while `conn` holds `cap` or more for a peer that has not read it: what we send on our own
 * initiative (PEX every minute) waits for the next round instead of piling up. No drop counted:
 * the peer did not ask.
 */
export function backlogged (conn: ReplyTarget, cap = REPLY_BACKLOG_CAP): boolean {
  return replyBacklog(conn) >= cap
}

/** Answers dropped in a row, per connection (a WeakMap: a closed connection takes its count along). */
const droppedInARow = new WeakMap<object, number>()

/**
 * True: write the answer. False: drop it, the peer has not read what we already sent (or the
 * connection is closing). Past `maxDropped` drops in a row the connection is destroyed.
 */
export function mayReply (conn: ReplyTarget, limits: ReplyLimits = {}): boolean {
  if (conn.destroying === true || conn.destroyed === true) return false
  const cap = limits.cap ?? REPLY_BACKLOG_CAP
  const backlog = replyBacklog(conn)
  if (backlog < cap) {
    droppedInARow.delete(conn)
    return true
  }
  const dropped = (droppedInARow.get(conn) ?? 0) + 1
  droppedInARow.set(conn, dropped)
  const max = limits.maxDropped ?? MAX_DROPPED_REPLIES
  if (dropped > max) {
    conn.destroy?.(new ProtocolError(`the peer asks and does not read: ${dropped - 1} answers dropped in a row, ${backlog} bytes waiting for it`))
  }
  return false
}
