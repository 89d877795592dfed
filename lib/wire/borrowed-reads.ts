/**
 * Socket reads into one reused buffer (Node's `onread` option of net.connect), for plaintext TCP
 * dials: a read allocates nothing, where Node's default gives every read (up to 64 KiB) its own
 * ArrayBuffer, a GiB of garbage per GiB downloaded that the GC then frees. The bytes of a read
 * are valid only during the callback; the PeerConnection parses them at once (WireParser's
 * writeBorrowed) and whatever is kept past that is a copy.
 *
 * One buffer serves every socket: Node reads a socket into it and runs the callback before it
 * reads any other, all on this thread.
 */
import type { OnReadOpts } from 'node:net'
import { copyBytes } from '../util/copy-bytes.js'

/** Node reads at most this much per call by default: the same size keeps reads as large. */
const READ_BUFFER_BYTES = 64 * 1024
let shared: Uint8Array | undefined

export class BorrowedReads {
  private target: ((chunk: Uint8Array) => void) | undefined
  /** Reads that came before the connection took the socket: copies, replayed in order. */
  private early: Uint8Array[] = []

  /** The `onread` option for net.connect. */
  readonly onread: OnReadOpts = {
    // A plain Uint8Array: its views (every block) are cheaper to make than a Buffer's.
    buffer: shared ??= new Uint8Array(READ_BUFFER_BYTES),
    callback: (nread: number, buf: Uint8Array): boolean => {
      const chunk = buf.subarray(0, nread)
      if (this.target !== undefined) this.target(chunk)
      else this.early.push(copyBytes(chunk))
      return true
    }
  }

  /**
   * From now on every read goes to `onChunk` as a lent view; reads that came earlier go first,
   * as owned copies (`owned`).
   */
  attach (onChunk: (chunk: Uint8Array) => void, owned: (chunk: Uint8Array) => void): void {
    const early = this.early
    this.early = []
    for (const chunk of early) owned(chunk)
    this.target = onChunk
  }
}
