/**
 * The process's one helper thread: the SHA-1 (or BEP 52 merkle root) of every verified-to-be
 * piece (lib/pieces/piece-hasher.ts) and the RC4 of every encrypted connection's incoming bytes
 * (lib/crypto/decrypt-thread.ts). One thread for both, and for every download: a worker thread
 * is a V8 isolate of its own, ~8.5 MiB of RSS before it does any work (measured: an idle worker),
 * and an encrypted download used to start two, a process with three downloads four.
 *
 * Each client (a hasher, the decrypting side) acquires the thread while it may need it and
 * releases it after; the thread starts with the first client and ends with the last. It never
 * keeps the process alive by itself: a client that must not lose its in-flight work to an exit
 * holds a ref (`ref`/`unref`) meanwhile. A thread that dies or cannot start is reported to every
 * client (`failed`); they do their work on the main thread until all of them let go.
 */
import { Worker } from 'node:worker_threads'
import type { HelperReply, HelperRequest } from './helper-worker.js'

/**
 * The thread's heap: it holds no JS data of its own but 256-byte S-boxes, so a small heap keeps
 * it small (~10 MiB less RSS than Node's default limits).
 */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 }

export interface HelperClient {
  /** A reply for this client (its `kind`). */
  readonly kind: HelperReply['kind']
  onReply (reply: HelperReply): void
  /** The thread is gone: work sent there will not come back. */
  onFail (err: Error): void
}

class HelperThread {
  private worker: Worker | undefined
  /** The thread runs ('online'): work sent now starts at once rather than after its boot. */
  online = false
  /** It died or could not start: clients work on the main thread until every one let go. */
  failed = false
  /** Threads started over the process's life (what tests count). */
  started = 0
  private readonly clients = new Set<HelperClient>()
  private refs = 0

  /** `client` may send work from now on; starts the thread if none runs. */
  acquire (client: HelperClient): void {
    this.clients.add(client)
    if (this.worker !== undefined || this.failed) return
    try {
      // Through ../util/: the same file from lib/util and from the CLI's bundle in lib/cli.
      const worker = new Worker(new URL('../util/helper-worker.js', import.meta.url), { resourceLimits: RESOURCE_LIMITS })
      this.started++
      worker.once('online', () => { if (this.worker === worker) this.online = true })
      worker.on('message', (r: HelperReply) => {
        if (this.worker !== worker) return
        for (const c of this.clients) if (c.kind === r.kind) c.onReply(r)
      })
      const fail = (err: Error): void => {
        if (this.worker !== worker) return
        this.failed = true
        this.worker = undefined
        this.online = false
        this.refs = 0
        for (const c of [...this.clients]) c.onFail(err)
      }
      worker.on('error', fail)
      worker.on('exit', code => { fail(new Error(`the helper thread exited with code ${code}`)) })
      // After the listeners: adding a 'message' listener refs the worker's port again.
      worker.unref()
      this.worker = worker
    } catch {
      this.failed = true
    }
  }

  /** `client` sends nothing more; with the last client the thread ends. */
  release (client: HelperClient): void {
    if (!this.clients.delete(client) || this.clients.size > 0) return
    const worker = this.worker
    this.worker = undefined
    this.online = false
    this.failed = false
    this.refs = 0
    void worker?.terminate()
  }

  post (m: HelperRequest, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(m, transfer)
  }

  /** Work that must come back before the process may exit went out: keep it alive meanwhile. */
  ref (): void {
    if (this.refs++ === 0) this.worker?.ref()
  }

  /** `n` such pieces of work came back or were given up on. */
  unref (n = 1): void {
    if (n <= 0 || this.refs === 0) return
    this.refs = Math.max(0, this.refs - n)
    if (this.refs === 0) this.worker?.unref()
  }
}

/** The one helper thread of this process. */
export const helperThread = new HelperThread()
