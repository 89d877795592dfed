import { ProtocolError } from '../util/errors.js'
import type { NativeUtpConnection } from './native.js'

/**
 * What utp-native's connection lacks for the peer Duplex, added to each one in place:
 *
 * - **A bound on unread bytes.** Over TCP a paused socket closes the kernel window and the peer
 *   stops. utp-native has no receive-side backpressure (its `_read` is a TODO and it does not give
 *   libutp the read-buffer-size callback, so libutp always advertises a full window): every packet
 *   is pushed into the stream's buffer whether or not anyone reads. A well-behaved peer sends only
 *   what we asked for (the swarm holds at most MAX_QUEUE = 1000 requests of 16 KiB per peer, and
 *   stops asking when its reader is slow), so the buffer stays under that; a peer that sends more
 *   than `maxUnreadBytes` we did not read is dropped instead of growing our memory.
 * - `setNoDelay()`: a no-op. uTP has no Nagle; libutp sends a write at once when the window allows.
 */

/** 1000 requests x 16 KiB (the swarm's per-peer cap) plus 4 MiB for messages and a 1 MiB extended message. */
export const DEFAULT_MAX_UNREAD_BYTES = 20 * 1024 * 1024

/** A uTP connection as the wire sees it: a Node Duplex with a socket's address fields. */
export type UtpStream = NativeUtpConnection & {
  setNoDelay (noDelay?: boolean): UtpStream
}

export function guardConnection (conn: NativeUtpConnection, maxUnreadBytes: number): UtpStream {
  const stream = conn as UtpStream
  stream.setNoDelay = () => stream
  const push = conn.push
  // utp-native calls this.push() from its native read callback for every packet.
  conn.push = function guardedPush (this: NativeUtpConnection, chunk: unknown, encoding?: BufferEncoding): boolean {
    const ok = push.call(this, chunk, encoding)
    if (chunk !== null && this.readableLength > maxUnreadBytes) {
      const unread = this.readableLength
      // Not from inside libutp's callback: close on the next tick.
      queueMicrotask(() => { this.destroy(new ProtocolError(`uTP peer sent ${unread} bytes we did not read (bound ${maxUnreadBytes})`)) })
    }
    return ok
  }
  return stream
}
