/**
 * The decrypting thread: RC4 for every encrypted connection's incoming bytes (decrypt-thread.ts
 * is its other end). Each connection's keystream lives here from its handshake on; chunks arrive
 * (transferred, not copied), are XORed in place, and go back in the order they came.
 */
import { parentPort } from 'node:worker_threads'
import { RC4, type RC4State } from './rc4.js'

export type DecryptRequest =
  | { readonly op: 'open', readonly id: number, readonly state: RC4State }
  | { readonly op: 'data', readonly id: number, readonly buffer: ArrayBuffer }
  | { readonly op: 'close', readonly id: number }

export interface DecryptReply {
  readonly id: number
  readonly buffer: ArrayBuffer
}

const ciphers = new Map<number, RC4>()

parentPort?.on('message', (m: DecryptRequest) => {
  switch (m.op) {
    case 'open': ciphers.set(m.id, RC4.resume(m.state)); return
    case 'close': ciphers.delete(m.id); return
    case 'data': {
      // A chunk for a connection closed meanwhile goes back as it is: its reader is gone.
      ciphers.get(m.id)?.update(new Uint8Array(m.buffer))
      const reply: DecryptReply = { id: m.id, buffer: m.buffer }
      parentPort?.postMessage(reply, [m.buffer])
    }
  }
})
