/**
 * Page-cache writes on a thread of their own, in small write(2) calls.
 *
 * Why small calls: a buffered write of N bytes makes the kernel (Linux 6.x, ext4 and tmpfs) put
 * the bytes in folios of up to N bytes; folios above 32 KiB (order > 3) come from the buddy
 * allocator's large free blocks, which on a VM with free page reporting (this Firecracker VM:
 * page_reporting_order=11) are the blocks handed back to the host, so the first touch of each
 * page faults in the host. Measured here, 1 GiB with pwrite(2): 256 KiB calls 0.2 s or 1.5-2.7 s
 * of system CPU (bimodal), 64 KiB calls likewise; 16 and 32 KiB calls 0.28-0.38 s every time.
 * libtorrent writes 16 KiB blocks and never hits the slow case; bt-stream's 256 KiB piece writes
 * spent 25% of the whole download's CPU samples in the kernel's copy into those pages.
 *
 * Why a thread: 32 writes of 32 KiB per MiB through Node's promise API cost ~20 us of main-thread
 * work each (0.7 s per GiB measured). Here the main thread copies a piece into a slot of a shared
 * ring (memcpy, warm memory: the ring is reused) and posts one message; the thread makes the
 * calls with writeSync and answers. The piece's own buffer is free as soon as it is copied.
 *
 * Memory: the ring is `slots * SLOT_BYTES`, allocated on the first write; a write bigger than a
 * slot goes out slot by slot, waiting for free slots (FIFO). Jobs run in the order posted.
 */
import { Worker } from 'node:worker_threads'
import type { WriteJob, WriteResult } from './writer-worker.js'

/** One slot: a 256 KiB piece, or a quarter of a 1 MiB one. */
export const SLOT_BYTES = 256 * 1024
/** 16 slots (4 MiB): the thread has work queued while the disk sink's other writes wait for slots. */
export const DEFAULT_SLOTS = 16
/** write(2) size that keeps the kernel's folios at or below order 3 (see above). */
export const DEFAULT_CHUNK_BYTES = 32 * 1024

interface Job { readonly at: number, readonly resolve: () => void, readonly reject: (err: Error) => void }

export class WriterThread {
  private readonly slots: number
  private readonly chunk: number
  private ring: SharedArrayBuffer | undefined
  private worker: Worker | undefined
  private readonly free: number[] = []
  private readonly waiters: Array<(at: number) => void> = []
  private readonly jobs = new Map<number, Job>()
  private nextId = 0
  private failure: Error | undefined
  private closed = false

  constructor (opts: { slots?: number, chunkBytes?: number } = {}) {
    this.slots = opts.slots ?? DEFAULT_SLOTS
    this.chunk = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new RangeError(`slots must be a positive integer, got ${this.slots}`)
    if (!Number.isInteger(this.chunk) || this.chunk < 1) throw new RangeError(`chunkBytes must be a positive integer, got ${this.chunk}`)
  }

  /** Writes all of `data` at `position` of the open descriptor `fd`; resolves once it is in the file. */
  async write (fd: number, data: Uint8Array, position: number): Promise<void> {
    const parts: Array<Promise<void>> = []
    for (let off = 0; off < data.byteLength; off += SLOT_BYTES) {
      const length = Math.min(SLOT_BYTES, data.byteLength - off)
      const at = await this.takeSlot()
      const ring = this.ring as SharedArrayBuffer
      new Uint8Array(ring, at, length).set(data.subarray(off, off + length))
      parts.push(this.post({ id: this.nextId++, fd, at, length, position: position + off, chunk: this.chunk }))
    }
    const results = await Promise.allSettled(parts)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  /** Ends the thread once its jobs are done (it would not keep the process alive anyway). */
  close (): void {
    this.closed = true
    if (this.jobs.size === 0) this.stop()
  }

  private async takeSlot (): Promise<number> {
    if (this.failure !== undefined) throw this.failure
    if (this.closed) throw new Error('the writer thread is closed')
    if (this.ring === undefined) {
      this.ring = new SharedArrayBuffer(this.slots * SLOT_BYTES)
      for (let i = this.slots - 1; i >= 0; i--) this.free.push(i * SLOT_BYTES)
    }
    const at = this.free.pop()
    if (at !== undefined) return at
    const got = await new Promise<number>(resolve => { this.waiters.push(resolve) })
    // -1: the thread failed while this write waited for a slot.
    if (got < 0) throw this.failure ?? new Error('the writer thread failed')
    return got
  }

  private giveSlot (at: number): void {
    const next = this.waiters.shift()
    if (next !== undefined) next(at)
    else this.free.push(at)
  }

  private async post (job: WriteJob): Promise<void> {
    const worker = this.ensureWorker()
    const done = new Promise<void>((resolve, reject) => { this.jobs.set(job.id, { at: job.at, resolve, reject }) })
    if (this.jobs.size === 1) worker.ref()
    worker.postMessage(job)
    await done
  }

  private ensureWorker (): Worker {
    if (this.worker !== undefined) return this.worker
    // It holds no JS data of its own: a small heap keeps its memory small.
    const worker = new Worker(new URL('./writer-worker.js', import.meta.url), { workerData: { ring: this.ring }, resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 } })
    worker.unref()
    worker.on('message', (r: WriteResult) => {
      const job = this.jobs.get(r.id)
      if (job === undefined) return
      this.jobs.delete(r.id)
      this.giveSlot(job.at)
      if (this.jobs.size === 0) { worker.unref(); if (this.closed) this.stop() }
      if (r.message === undefined) job.resolve()
      else job.reject(Object.assign(new Error(r.message), r.code === undefined ? {} : { code: r.code }))
    })
    const fail = (err: Error): void => {
      this.failure ??= err
      this.worker = undefined
      for (const job of this.jobs.values()) job.reject(err)
      this.jobs.clear()
      for (const w of this.waiters.splice(0)) w(-1)
    }
    worker.on('error', fail)
    worker.on('exit', code => { if (!this.closed || this.jobs.size > 0) fail(new Error(`the writer thread exited (${code})`)) })
    this.worker = worker
    return worker
  }

  private stop (): void {
    const worker = this.worker
    this.worker = undefined
    void worker?.terminate()
  }
}
