/**
 * Every write of a FileStorage: one system call at a time per file, adjacent writes merged into
 * one pwritev, and the written bytes handed to the disk early.
 *
 * One at a time per file: Linux file systems (ext4, xfs, btrfs, tmpfs) hold the inode's lock for
 * a whole buffered write, so parallel writes to one file only queue in the kernel, where the
 * waiters spin: measured on ext4 (1 GiB as 256 KiB pieces, a run where page-cache writes were
 * slow) 4 writes in flight cost ~1 s more system CPU than one at a time. Writes to different
 * files still run in parallel on libuv's threadpool.
 *
 * Merging: what queued behind a running write and is adjacent to the oldest waiting one goes out
 * with it as one pwritev (a run of verified pieces): fewer system calls and threadpool round
 * trips (4096 -> ~2300 calls for 1 GiB). The oldest write always goes next: none waits behind
 * later ones.
 *
 * Early flush: every `flushBytes` written to a file, an fdatasync of that file starts in the
 * background (writes go on meanwhile). The kernel would otherwise keep the whole download dirty
 * in memory until the fsync before the final rename (file-storage.ts), which then writes all of
 * it while the user waits (measured 0.37-0.48 s per GiB at the end; 0.01-0.09 s with this). That
 * fsync stays: it alone makes a file under its final name complete after a power loss. A
 * background flush that fails is reported by the file's next write or by `settle` (a descriptor
 * reports a writeback error only once, so the final fsync would not see it again).
 */
import type { FileHandle } from 'node:fs/promises'
import { StorageError } from '../util/errors.js'
import type { FileHandles } from './file-handles.js'
import { DirectWrites } from './direct-writes.js'

/** Buffers per pwritev: far below Linux's IOV_MAX (1024). */
export const MAX_MERGED_WRITES = 64
/** Bytes per pwritev: a few pieces, so a write comes back often and its memory is given back soon. */
export const MAX_MERGED_BYTES = 4 * 1024 * 1024
/**
 * Bytes written to a file between background flushes: the disk gets steady work (32 MiB is
 * ~10 ms of this VM's disk), and about this much is left for the final fsync.
 */
export const DEFAULT_FLUSH_BYTES = 32 * 1024 * 1024

interface Pending {
  readonly position: number
  readonly data: Uint8Array
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

interface FileState {
  readonly queue: Pending[]
  writing: boolean
  /** Bytes written since the last background flush started. */
  unflushed: number
  flushing: Promise<void> | undefined
  /** A background flush failed: every later write of this file fails with it. */
  failure: unknown
}

export interface FileWriterOptions {
  /** Bytes per file between background fdatasyncs; 0 turns them off. */
  readonly flushBytes?: number
  /** Write the aligned middle of each run with O_DIRECT (direct-writes.ts); default true. */
  readonly direct?: boolean
}

export class FileWriter {
  private readonly handles: FileHandles
  private readonly flushBytes: number
  private readonly files = new Map<string, FileState>()
  private readonly direct: DirectWrites | undefined
  /** pwritev calls made, and the writes they carried (tests, benchmarks). */
  calls = 0
  writes = 0

  constructor (handles: FileHandles, opts: FileWriterOptions = {}) {
    this.handles = handles
    this.flushBytes = opts.flushBytes ?? DEFAULT_FLUSH_BYTES
    if (!Number.isInteger(this.flushBytes) || this.flushBytes < 0) throw new RangeError(`flushBytes must be a non-negative integer, got ${this.flushBytes}`)
    this.direct = (opts.direct ?? true) ? new DirectWrites() : undefined
  }

  /** Bytes that went to disk with O_DIRECT (tests, benchmarks). */
  get directBytes (): number { return this.direct?.directBytes ?? 0 }

  /** Writes all of `data` at `position` of `path` (created if missing); resolves once it is in the file. */
  async write (path: string, data: Uint8Array, position: number): Promise<void> {
    if (data.byteLength === 0) return
    let state = this.files.get(path)
    if (state === undefined) {
      state = { queue: [], writing: false, unflushed: 0, flushing: undefined, failure: undefined }
      this.files.set(path, state)
    }
    if (state.failure !== undefined) throw state.failure
    const s = state
    const done = new Promise<void>((resolve, reject) => { s.queue.push({ position, data, resolve, reject }) })
    if (!s.writing) void this.drain(path, s)
    await done
  }

  /**
   * Waits for the background flush of `path` (before its final fsync, close or rename), throws
   * what it failed with, and forgets the file once nothing is queued for it.
   */
  async settle (path: string): Promise<void> {
    const state = this.files.get(path)
    if (state === undefined) return
    await state.flushing
    if (!state.writing && state.queue.length === 0 && this.files.get(path) === state) {
      this.files.delete(path)
      await this.direct?.forget(path)
    }
    if (state.failure !== undefined) throw state.failure
  }

  /** `settle` for every file; the first failure is thrown after all settled. */
  async settleAll (): Promise<void> {
    const results = await Promise.allSettled([...this.files.keys()].map(async p => await this.settle(p)))
    await this.direct?.closeAll()
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  private async drain (path: string, state: FileState): Promise<void> {
    state.writing = true
    while (state.queue.length > 0) {
      const batch = takeRun(state.queue)
      let bytes = 0
      for (const p of batch) bytes += p.data.byteLength
      try {
        if (state.failure !== undefined) throw state.failure
        const at = (batch[0] as Pending).position
        await this.handles.use(path, true, async fh => {
          const views = batch.map(p => p.data)
          if (this.direct === undefined || !await this.direct.write(path, fh, views, at, writevAll)) await writevAll(fh, views, at)
        })
        this.calls++
        this.writes += batch.length
      } catch (err) {
        for (const p of batch) p.reject(err)
        continue
      }
      for (const p of batch) p.resolve()
      state.unflushed += bytes
      if (this.flushBytes > 0 && state.unflushed >= this.flushBytes && state.flushing === undefined) {
        state.unflushed = 0
        state.flushing = this.handles.use(path, true, async fh => { await fh.datasync() })
          .catch((err: unknown) => { state.failure ??= err })
          .finally(() => { state.flushing = undefined })
      }
    }
    state.writing = false
  }
}

/**
 * Removes from `queue` its oldest write and every queued write adjacent to it (before or after),
 * in file order, within MAX_MERGED_WRITES and MAX_MERGED_BYTES.
 */
function takeRun (queue: Pending[]): Pending[] {
  const head = queue.shift() as Pending
  const run = [head]
  let start = head.position
  let end = head.position + head.data.byteLength
  let bytes = head.data.byteLength
  let grew = true
  while (grew && run.length < MAX_MERGED_WRITES) {
    grew = false
    for (let i = 0; i < queue.length; i++) {
      const p = queue[i] as Pending
      if (bytes + p.data.byteLength > MAX_MERGED_BYTES) continue
      if (p.position === end) {
        run.push(p)
        end += p.data.byteLength
      } else if (p.position + p.data.byteLength === start) {
        run.unshift(p)
        start = p.position
      } else {
        continue
      }
      bytes += p.data.byteLength
      queue.splice(i, 1)
      grew = true
      break
    }
  }
  return run
}

/** pwritev may write less than asked (a full disk mid-write, a signal): loop until all is out. */
async function writevAll (fh: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let list = buffers
  let at = position
  while (list.length > 0) {
    const first = list[0] as Uint8Array
    const { bytesWritten } = list.length === 1 ? await fh.write(first, 0, first.byteLength, at) : await fh.writev(list, at)
    if (bytesWritten === 0) throw new StorageError('write made no progress')
    at += bytesWritten
    let skip = bytesWritten
    const rest: Uint8Array[] = []
    for (const b of list) {
      if (skip >= b.byteLength) { skip -= b.byteLength; continue }
      rest.push(skip === 0 ? b : b.subarray(skip))
      skip = 0
    }
    list = rest
  }
}
