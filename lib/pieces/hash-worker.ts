/**
 * The piece hasher's thread: SHA-1 of a piece whose memory was transferred here (no copy), sent
 * back with its digest (no copy either).
 */
import { createHash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'

export interface HashJob {
  readonly id: number
  readonly buffer: ArrayBuffer
}

export interface HashResult {
  readonly id: number
  readonly buffer: ArrayBuffer
  readonly digest: Uint8Array
}

parentPort?.on('message', (job: HashJob) => {
  const digest = createHash('sha1').update(new Uint8Array(job.buffer)).digest()
  const result: HashResult = { id: job.id, buffer: job.buffer, digest }
  parentPort?.postMessage(result, [job.buffer])
})
