/**
 * RC4 for every encrypted connection's incoming bytes, on the helper thread (lib/util/
 * helper-worker.ts runs it; decrypt-thread.ts is the main thread's end). Each connection's
 * keystream lives here from its handshake on; chunks arrive (transferred, not copied), are XORed
 * in place, and go back in the order they came.
 */
import { RC4, type RC4State } from './rc4.js'

export type DecryptRequest =
  | { readonly op: 'open', readonly id: number, readonly state: RC4State }
  | { readonly op: 'data', readonly id: number, readonly buffer: ArrayBuffer }
  | { readonly op: 'close', readonly id: number }

export interface DecryptReply {
  readonly id: number
  readonly buffer: ArrayBuffer
}

/** The keystreams of the connections open here (this module is only loaded on the thread). */
const ciphers = new Map<number, RC4>()

/** The thread's side of one request: a reply for a chunk, nothing for open and close. */
export function decryptJob (m: DecryptRequest): DecryptReply | undefined {
  switch (m.op) {
    case 'open': ciphers.set(m.id, RC4.resume(m.state)); return undefined
    case 'close': ciphers.delete(m.id); return undefined
    case 'data':
      // A chunk for a connection closed meanwhile goes back as it is: its reader is gone.
      ciphers.get(m.id)?.update(new Uint8Array(m.buffer))
      return { id: m.id, buffer: m.buffer }
  }
}
