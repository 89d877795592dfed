import { Worker } from 'node:worker_threads'

/**
 * Runs a module's exports in a worker thread with a small heap, for inputs that once made code
 * loop for ever or allocate until Node aborted (a bencoded `l-3:e`). A regression must fail the
 * test, not hang the suite or take the machine's memory: a call that does not answer within its
 * bound terminates the worker (which interrupts even a synchronous endless loop), and a worker
 * that reaches its heap limit dies with ERR_WORKER_OUT_OF_MEMORY. Either way the call rejects
 * with an IsolationFailure saying which.
 */

/** Generous on a loaded 2-core machine: the sane path takes milliseconds. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000
/** Enough for any of these tests; the runaway decode reaches it in well under a second. */
const DEFAULT_MAX_HEAP_MB = 128
const START_TIMEOUT_MS = 10_000

/** The isolated code hung, ran out of memory or died: what the tests exist to catch. */
export class IsolationFailure extends Error {}

/** An error the isolated function threw, by name and message (errors cross threads as data). */
export interface RemoteError { readonly name: string, readonly message: string }

export type Outcome<T> = { readonly ok: true, readonly value: T } | { readonly ok: false, readonly error: RemoteError }

interface Reply { readonly id?: number, readonly ready?: boolean, readonly value?: unknown, readonly error?: RemoteError }

export class Isolated {
  private readonly worker: Worker
  private nextId = 1
  private readonly waiting = new Map<number, (r: Reply | IsolationFailure) => void>()
  private dead: IsolationFailure | undefined

  private constructor (worker: Worker) {
    this.worker = worker
    worker.on('message', (r: Reply) => {
      if (r.id === undefined) return
      const w = this.waiting.get(r.id)
      this.waiting.delete(r.id)
      w?.(r)
    })
    worker.on('error', (err: Error & { code?: string }) => { this.die(new IsolationFailure(`isolated code died: ${err.code ?? err.name}: ${err.message}`)) })
    worker.on('exit', (code) => { this.die(new IsolationFailure(`isolated code exited (code ${code})`)) })
  }

  /** Starts a worker that imports `module` (a URL, e.g. new URL('../../lib/x.js', import.meta.url)). */
  static async open (module: URL, opts: { maxHeapMb?: number } = {}): Promise<Isolated> {
    const worker = new Worker(new URL('./isolated-worker.js', import.meta.url), {
      workerData: { module: module.href },
      resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb ?? DEFAULT_MAX_HEAP_MB }
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { void worker.terminate(); reject(new IsolationFailure('worker did not start')) }, START_TIMEOUT_MS)
      worker.once('message', () => { clearTimeout(timer); resolve() })
      worker.once('error', (err) => { clearTimeout(timer); reject(err) })
    })
    return new Isolated(worker)
  }

  /**
   * Calls export `fn` with `args` (structured-cloned). Resolves with its value or the error it
   * threw; rejects with IsolationFailure when the worker hangs past `timeoutMs` or dies.
   */
  async call<T> (fn: string, args: unknown[] = [], timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<Outcome<T>> {
    if (this.dead !== undefined) throw this.dead
    const id = this.nextId++
    const reply = await new Promise<Reply | IsolationFailure>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        resolve(new IsolationFailure(`${fn} did not answer within ${timeoutMs} ms (hung; worker terminated)`))
        void this.worker.terminate()
      }, timeoutMs)
      this.waiting.set(id, (r) => { clearTimeout(timer); resolve(r) })
      this.worker.postMessage({ id, fn, args })
    })
    if (reply instanceof IsolationFailure) throw reply
    return reply.error !== undefined ? { ok: false, error: reply.error } : { ok: true, value: reply.value as T }
  }

  /** Ends the worker and whatever it holds open (sockets, timers). */
  async close (): Promise<void> {
    this.dead ??= new IsolationFailure('closed')
    await this.worker.terminate()
  }

  private die (why: IsolationFailure): void {
    this.dead ??= why
    for (const w of this.waiting.values()) w(why)
    this.waiting.clear()
  }
}
