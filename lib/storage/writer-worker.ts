/**
 * The writer thread (writer-thread.ts): each job is bytes the main thread copied into a slot of
 * the shared ring, written to a descriptor the main thread holds open, as write(2) calls of at
 * most `chunk` bytes each. Answers `{ id }`, or `{ id, code, message }` when a write failed.
 */
import { writeSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'

export interface WriteJob {
  readonly id: number
  readonly fd: number
  /** Byte offset of the job's bytes in the ring. */
  readonly at: number
  readonly length: number
  readonly position: number
  readonly chunk: number
}

export interface WriteResult {
  readonly id: number
  readonly code?: string
  readonly message?: string
}

const ring = new Uint8Array((workerData as { ring: SharedArrayBuffer }).ring)

parentPort?.on('message', (job: WriteJob) => {
  let result: WriteResult
  try {
    let done = 0
    while (done < job.length) {
      const n = writeSync(job.fd, ring, job.at + done, Math.min(job.chunk, job.length - done), job.position + done)
      if (n === 0) throw new Error('write made no progress')
      done += n
    }
    result = { id: job.id }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    result = { id: job.id, message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}) }
  }
  parentPort?.postMessage(result)
})
