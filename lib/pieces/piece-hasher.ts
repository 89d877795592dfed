/**
 * SHA-1 (v1) or the SHA-256 merkle root (BEP 52) of verified-to-be pieces on a worker thread, so
 * the main thread keeps reading sockets while a piece is hashed (SHA-1 is ~0.6 s of CPU per GiB
 * here, a fifth of the engine's). The
 * piece's memory moves to the worker and back (transferred, never copied); a buffer that does
 * not own its whole ArrayBuffer (a small slice of Node's pool) is hashed here instead, as is
 * everything when no worker can be started.
 *
 * One thread hashes for every PieceHasher of the process (one per download): a worker thread is
 * a V8 isolate of its own, ~8.5 MiB of RSS before it hashes a byte (measured: an idle worker),
 * so three downloads in one process used to cost three. The thread starts with the first hasher
 * that needs it and ends when the last one closes.
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

interface Job {
  resolve (r: HashResult): void
  reject (err: Error): void
}

/** The process's hashing thread and the jobs at it, shared by every PieceHasher. */
class HashThread {
  worker: Worker | undefined
  /**
   * The thread runs ('online'). Until then pieces are hashed on the caller's thread: booting a
   * thread takes 30 to 100 ms, and the first piece of a download is what stdout waits for
   * (measured: first block at 25 ms after the dial, first piece verified at 80-160 ms, most of
   * it the worker's boot).
   */
  online = false
  /** The thread died or could not start: hash on the caller's thread until every user is gone. */
  failed = false
  /** Threads started, over the process's life (what tests count). */
  started = 0
  private users = 0
  private nextId = 0
  private readonly jobs = new Map<number, Job>()

  acquire (): void {
    this.users++
    this.ensureWorker()
  }

  /** A user is gone; with the last one, the thread ends (a later download starts a new one). */
  release (): void {
    if (this.users === 0 || --this.users > 0) return
    const worker = this.worker
    this.worker = undefined
    this.online = false
    this.failed = false
    this.jobs.clear()
    void worker?.terminate()
  }

  /** Sends `data` to the thread; `job` hears back. The caller checked `online`. */
  post (data: Uint8Array<ArrayBuffer>, merkleHeight: number | undefined, job: Job): number {
    const id = this.nextId++
    this.jobs.set(id, job)
    const msg: HashJob = merkleHeight === undefined ? { id, buffer: data.buffer } : { id, buffer: data.buffer, merkleHeight }
    this.worker?.postMessage(msg, [msg.buffer])
    return id
  }

  /** The job's answer is no longer wanted (timed out, or its hasher closed). */
  forget (id: number): void {
    this.jobs.delete(id)
  }

  private ensureWorker (): void {
    if (this.worker !== undefined || this.failed) return
    try {
      // It holds no JS data of its own: a small heap keeps its memory small (~10 MiB less RSS).
      const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 } })
      this.started++
      worker.unref()
      worker.once('online', () => { if (this.worker === worker) this.online = true })
      worker.on('message', (r: HashResult) => {
        if (this.worker !== worker) return
        const job = this.jobs.get(r.id)
        this.jobs.delete(r.id)
        job?.resolve(r)
      })
      // A thread that dies takes its jobs' buffers with it: those pieces are fetched again, and
      // later ones are hashed on the main thread.
      const fail = (err: Error): void => {
        if (this.worker !== worker) return
        this.failed = true
        this.worker = undefined
        this.online = false
        const jobs = [...this.jobs.values()]
        this.jobs.clear()
        for (const job of jobs) job.reject(err)
      }
      worker.on('error', fail)
      worker.on('exit', code => { fail(new Error(`hash worker exited with code ${code}`)) })
      this.worker = worker
    } catch {
      this.failed = true
    }
  }
}

const thread = new HashThread()

/** Hashing threads started so far in this process (one at a time, shared by every hasher). */
export function hashThreadsStarted (): number { return thread.started }

export class PieceHasher {
  private using = false
  private closed = false
  /** This hasher's jobs at the shared thread: closing forgets them, and only them. */
  private readonly pending = new Set<number>()

  /** Pieces go to the thread now (it runs); before, they are hashed on the caller's thread. */
  get threaded (): boolean { return this.using && thread.online }

  /** Start the thread now, so it is running when the first piece is in. */
  warm (): void {
    this.use()
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
    if (ownsItsMemory(data)) this.use()
    if (!ownsItsMemory(data) || !this.threaded) return Promise.resolve({ digest: digestOf(data, merkleHeight), data })
    return new Promise<Hashed>((resolve, reject) => {
      const timer = setTimeout(() => {
        thread.forget(id)
        this.pending.delete(id)
        reject(new Error(`no digest from the hash worker within ${JOB_TIMEOUT_MS} ms`))
      }, JOB_TIMEOUT_MS)
      timer.unref()
      const id = thread.post(data, merkleHeight, {
        resolve: r => { clearTimeout(timer); this.pending.delete(id); resolve({ digest: r.digest, data: Buffer.from(r.buffer) }) },
        reject: err => { clearTimeout(timer); this.pending.delete(id); reject(err) }
      })
      this.pending.add(id)
    })
  }

  /** Done with the thread; pending digests never resolve (their download is over). */
  close (): void {
    if (this.closed) return
    this.closed = true
    for (const id of this.pending) thread.forget(id)
    this.pending.clear()
    if (this.using) thread.release()
  }

  /** This hasher counts as one of the thread's users (once), unless it was closed. */
  private use (): void {
    if (this.using || this.closed) return
    this.using = true
    thread.acquire()
  }
}
