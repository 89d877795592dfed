/**
 * The helper thread's side (lib/util/helper-thread.ts is the other end): each request goes to the
 * job it names, and its answer goes back with the same memory (transferred, never copied).
 * Piece digests: lib/pieces/hash-worker.ts; RC4 of encrypted connections:
 * lib/crypto/decrypt-worker.ts. One port, so each connection's chunks come back in the order sent.
 */
import { parentPort } from 'node:worker_threads'
import { decryptJob, type DecryptReply, type DecryptRequest } from '../crypto/decrypt-worker.js'
import { hashBatch, type HashBatch, type HashedBatch } from '../pieces/hash-worker.js'

export type HelperRequest = ({ readonly kind: 'hash' } & HashBatch) | ({ readonly kind: 'decrypt' } & DecryptRequest)
export type HelperReply = ({ readonly kind: 'hash' } & HashedBatch) | ({ readonly kind: 'decrypt' } & DecryptReply)

parentPort?.on('message', (m: HelperRequest) => {
  if (m.kind === 'hash') {
    const r = hashBatch(m)
    const reply: HelperReply = { kind: 'hash', ...r }
    parentPort?.postMessage(reply, r.buffers.filter(b => b !== null))
    return
  }
  const r = decryptJob(m)
  if (r === undefined) return
  const reply: HelperReply = { kind: 'decrypt', ...r }
  parentPort?.postMessage(reply, [r.buffer])
})
