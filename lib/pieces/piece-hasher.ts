/**
 * SHA-1 (v1) or the SHA-256 merkle root (BEP 52) of verified-to-be pieces on the process's helper
 * thread (lib/util/helper-thread.ts, shared with the decryption of encrypted connections), so the
 * main thread keeps reading sockets while a piece is hashed (SHA-1 is ~0.6 s of CPU per GiB here,
 * a fifth of the engine's). A piece in shared memory (the engine's piece buffers) is read there in
 * place; one that owns an ArrayBuffer moves to the thread and back (transferred, never copied); a
 * buffer that does neither (a small slice of Node's pool) is hashed here instead, as is
 * everything when no thread can be started.
 *
 * Every PieceHasher of the process (one per download) uses that one thread: a thread is a V8
 * isolate of its own, ~8.5 MiB of RSS before it hashes a byte, so three downloads in one process
 * used to cost three. The hashers hold it from their first piece (or `warm`) to `close`.
 */
import { helperThread, type HelperClient } from '../util/helper-thread.js'
import type { HelperReply } from '../util/helper-worker.js'
import { ownsItsMemory, ownsSharedMemory } from '../util/transferable.js'
import { digestOf, SHA1_PIECE } from './hash-worker.js'

export interface Hashed {
  readonly digest: Uint8Array
  /** The piece's bytes: the buffer given, or (moved to the thread and detached) back from it. */
  readonly data: Buffer
}

/** A digest not back by then is given up on: the piece is fetched again rather than waited for. */
const JOB_TIMEOUT_MS = 30_000

interface Job {
  /** `buffer`: the moved memory, back; null when the thread read shared memory in place. */
  resolve (digest: Uint8Array, buffer: ArrayBuffer | null): void
  reject (err: Error): void
}

/** The hashers' side of the helper thread: their jobs there, by id. */
class HashClient implements HelperClient {
  readonly kind = 'hash'
  private users = 0
  private nextId = 0
  private readonly jobs = new Map<number, Job>()

  /**
   * Pieces go to the thread: it runs. Until then they are hashed on the caller's thread: booting
   * a thread takes 30 to 100 ms, and the first piece of a download is what stdout waits for
   * (measured: first block at 25 ms after the dial, first piece verified at 80-160 ms, most of
   * it the worker's boot).
   */
  get online (): boolean { return this.users > 0 && helperThread.online }

  acquire (): void {
    if (this.users++ === 0) helperThread.acquire(this)
  }

  /** A hasher closed; with the last one the hashers let the thread go. */
  release (): void {
    if (this.users === 0 || --this.users > 0) return
    helperThread.unref(this.jobs.size)
    this.jobs.clear()
    helperThread.release(this)
  }

  /** Pieces waiting for the end of this event-loop turn, to go to the thread in one message. */
  private waiting: Array<{ readonly id: number, readonly buffer: ArrayBuffer | SharedArrayBuffer, readonly height: number }> = []

  /**
   * Sends `data` to the thread with the other pieces completed in this turn of the event loop;
   * `job` hears back. The caller checked `online`. The piece's only copy is there until it comes
   * back, so the thread keeps the process alive meanwhile.
   */
  post (data: Uint8Array<ArrayBuffer | SharedArrayBuffer>, merkleHeight: number | undefined, job: Job): number {
    const id = this.nextId++
    this.jobs.set(id, job)
    helperThread.ref()
    // setImmediate runs after the poll phase has handled every socket that was ready, so the
    // pieces those reads completed travel together (a microtask would send them one by one).
    if (this.waiting.length === 0) setImmediate(() => { this.flush() })
    this.waiting.push({ id, buffer: data.buffer, height: merkleHeight ?? SHA1_PIECE })
    return id
  }

  private flush (): void {
    // A job forgotten meanwhile (its hasher closed, the thread failed) stays here: its buffer
    // was never moved.
    const batch = this.waiting.filter(w => this.jobs.has(w.id))
    this.waiting = []
    if (batch.length === 0) return
    const buffers = batch.map(w => w.buffer)
    const moved = buffers.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer)
    helperThread.post({ kind: 'hash', ids: batch.map(w => w.id), buffers, heights: batch.map(w => w.height) }, moved)
  }

  /** The job's answer is no longer wanted (timed out, or its hasher closed). */
  forget (id: number): void {
    if (this.jobs.delete(id)) helperThread.unref()
  }

  onReply (r: HelperReply): void {
    if (r.kind !== 'hash') return
    let start = 0
    r.ids.forEach((id, i) => {
      const end = r.ends[i] ?? start
      const buffer = r.buffers[i]
      const job = this.jobs.get(id)
      if (job !== undefined && buffer !== undefined) {
        this.forget(id)
        job.resolve(r.digests.subarray(start, end), buffer)
      }
      start = end
    })
  }

  /**
   * The thread died and took its jobs' buffers with it: those pieces are fetched again, and
   * later ones are hashed on the main thread.
   */
  onFail (err: Error): void {
    const jobs = [...this.jobs.values()]
    this.jobs.clear()
    for (const job of jobs) job.reject(err)
  }
}

const thread = new HashClient()

export class PieceHasher {
  private using = false
  private closed = false
  /**
   * This hasher's jobs at the shared thread, with when each was posted and how to fail it:
   * closing forgets them, and only them; one sweep (not a timer per piece) gives up on a late one.
   */
  private readonly pending = new Map<number, { readonly at: number, readonly fail: (err: Error) => void }>()
  private sweep: ReturnType<typeof setInterval> | undefined

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
    const whole = ownsSharedMemory(data) || ownsItsMemory(data)
    if (whole) this.use()
    if (!whole || !this.threaded) return Promise.resolve({ digest: digestOf(data, merkleHeight), data })
    return new Promise<Hashed>((resolve, reject) => {
      const id = thread.post(data, merkleHeight, {
        resolve: (digest, buffer) => { this.pending.delete(id); resolve({ digest, data: buffer === null ? data : Buffer.from(buffer) }) },
        reject: err => { this.pending.delete(id); reject(err) }
      })
      this.pending.set(id, { at: Date.now(), fail: reject })
      this.sweep ??= setInterval(() => { this.giveUpOnLate() }, JOB_TIMEOUT_MS / 4).unref()
    })
  }

  /** Jobs posted more than JOB_TIMEOUT_MS ago fail (their pieces are fetched again); none left: no sweep. */
  private giveUpOnLate (): void {
    const now = Date.now()
    for (const [id, job] of this.pending) {
      if (now - job.at < JOB_TIMEOUT_MS) continue
      thread.forget(id)
      this.pending.delete(id)
      job.fail(new Error(`no digest from the hash worker within ${JOB_TIMEOUT_MS} ms`))
    }
    if (this.pending.size === 0) this.stopSweep()
  }

  private stopSweep (): void {
    if (this.sweep !== undefined) clearInterval(this.sweep)
    this.sweep = undefined
  }

  /** Done with the thread; pending digests never resolve (their download is over). */
  close (): void {
    if (this.closed) return
    this.closed = true
    for (const id of this.pending.keys()) thread.forget(id)
    this.pending.clear()
    this.stopSweep()
    if (this.using) thread.release()
  }

  /** This hasher counts as one of the thread's users (once), unless it was closed. */
  private use (): void {
    if (this.using || this.closed) return
    this.using = true
    thread.acquire()
  }
}
