/**
 * SHA-1 (v1) or the SHA-256 merkle root (BEP 52) of verified-to-be pieces on a worker thread, so
 * the main thread keeps reading sockets while a piece is hashed (SHA-1 is ~0.6 s of CPU per GiB
 * here, a fifth of the engine's). The
 * piece's memory moves to the worker and back (transferred, never copied); a buffer that does
 * not own its whole ArrayBuffer (a small slice of Node's pool) is hashed here instead, as is
 * everything when no worker can be started.
 */
import { Worker } from 'node:worker_threads'
import { ownsItsMemory } from '../util/transferable.js'
import { digestOf, type HashJob, type HashResult } from './hash-worker.js'

export interface Hashed {
  readonly digest: Uint8Array
  /** The piece's bytes, back from the worker (the buffer given was detached). */
  readonly data: Buffer
}

/** A digest not back by then is given up on: the piece is fetched again rather than waited for. */
const JOB_TIMEOUT_MS = 30_000

export class PieceHasher {
  private worker: Worker | undefined
  /**
   * The thread runs ('online'). Until then pieces are hashed here: booting a thread takes 30 to
   * 100 ms, and the first piece of a download is what stdout waits for (measured: first block at
   * 25 ms after the dial, first piece verified at 80-160 ms, most of it the worker's boot).
   */
  private online = false
  private failed = false
  private nextId = 0
  private readonly jobs = new Map<number, { resolve: (r: HashResult) => void, reject: (err: Error) => void }>()

  /** Pieces go to the thread now (it runs); before, they are hashed on the caller's thread. */
  get threaded (): boolean { return this.online }

  /** Start the thread now, so it is running when the first piece is in. */
  warm (): void {
    this.ensureWorker()
  }

  /** BEP 3: the piece's SHA-1. */
  digest (data: Buffer): Promise<Hashed> {
    return this.run(data, undefined)
  }

  /** BEP 52: the root of the piece's 16 KiB blocks' SHA-256 tree, padded to 2^height leaves. */
  merkleRoot (data: Buffer, height: number): Promise<Hashed> {
    return this.run(data, height)
  }

  private run (data: Buffer, merkleHeight: number | undefined): Promise<Hashed> {
    const worker = ownsItsMemory(data) ? this.ensureWorker() : undefined
    if (worker === undefined || !this.online) return Promise.resolve({ digest: digestOf(data, merkleHeight), data })
    const id = this.nextId++
    return new Promise<Hashed>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.jobs.delete(id)
        reject(new Error(`no digest from the hash worker within ${JOB_TIMEOUT_MS} ms`))
      }, JOB_TIMEOUT_MS)
      timer.unref()
      this.jobs.set(id, {
        resolve: r => { clearTimeout(timer); resolve({ digest: r.digest, data: Buffer.from(r.buffer) }) },
        reject: err => { clearTimeout(timer); reject(err) }
      })
      const job: HashJob = merkleHeight === undefined ? { id, buffer: data.buffer as ArrayBuffer } : { id, buffer: data.buffer as ArrayBuffer, merkleHeight }
      worker.postMessage(job, [job.buffer])
    })
  }

  /** Ends the thread; pending digests never resolve (their download is over). */
  close (): void {
    this.jobs.clear()
    const worker = this.worker
    this.worker = undefined
    this.online = false
    void worker?.terminate()
  }

  private ensureWorker (): Worker | undefined {
    if (this.worker !== undefined || this.failed) return this.worker
    try {
      // It holds no JS data of its own: a small heap keeps its memory small (~10 MiB less RSS).
      const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 } })
      worker.unref()
      worker.once('online', () => { this.online = true })
      worker.on('message', (r: HashResult) => {
        const job = this.jobs.get(r.id)
        this.jobs.delete(r.id)
        job?.resolve(r)
      })
      // A thread that dies takes its jobs' buffers with it: those pieces are fetched again, and
      // later ones are hashed on the main thread.
      const fail = (err: Error): void => {
        this.failed = true
        this.worker = undefined
        this.online = false
        for (const job of this.jobs.values()) job.reject(err)
        this.jobs.clear()
      }
      worker.on('error', fail)
      worker.on('exit', code => { if (this.worker === worker) fail(new Error(`hash worker exited with code ${code}`)) })
      this.worker = worker
    } catch {
      this.failed = true
    }
    return this.worker
  }
}
