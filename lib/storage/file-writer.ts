/**
 * Every write of a FileStorage: the bytes go to the writer thread (writer-thread.ts: small
 * write(2) calls off the main thread), and the written bytes are handed to the disk early.
 *
 * Early flush: every `flushBytes` written to a file, an fdatasync of that file starts in the
 * background (writes go on meanwhile). The kernel would otherwise keep the whole download dirty
 * in memory until the fsync before the final rename (file-storage.ts), which then writes all of
 * it while the user waits (0.3-0.6 s per GiB on this VM's disk). That fsync stays: it alone makes
 * a file under its final name complete after a power loss. A background flush that fails is
 * reported by the file's next write or by `settle` (a descriptor reports a writeback error only
 * once, so the final fsync would not see it again).
 */
import type { FileHandles } from './file-handles.js'
import { WriterThread } from './writer-thread.js'

/**
 * Bytes written to a file between background flushes: the disk gets steady work (32 MiB is ~10 ms
 * of this VM's disk), and about this much is left for the final fsync.
 */
export const DEFAULT_FLUSH_BYTES = 32 * 1024 * 1024

interface FileState {
  /** Bytes written since the last background flush started. */
  unflushed: number
  flushing: Promise<void> | undefined
  /** A background flush failed: every later write of this file fails with it. */
  failure: unknown
}

export interface FileWriterOptions {
  /** Bytes per file between background fdatasyncs; 0 turns them off. */
  readonly flushBytes?: number
  /** Bytes per write(2) call (writer-thread.ts). */
  readonly chunkBytes?: number
}

export class FileWriter {
  private readonly handles: FileHandles
  private readonly flushBytes: number
  private readonly thread: WriterThread
  private readonly files = new Map<string, FileState>()

  constructor (handles: FileHandles, opts: FileWriterOptions = {}) {
    this.handles = handles
    this.flushBytes = opts.flushBytes ?? DEFAULT_FLUSH_BYTES
    if (!Number.isInteger(this.flushBytes) || this.flushBytes < 0) throw new RangeError(`flushBytes must be a non-negative integer, got ${this.flushBytes}`)
    this.thread = new WriterThread(opts.chunkBytes === undefined ? {} : { chunkBytes: opts.chunkBytes })
  }

  /** Writes all of `data` at `position` of `path` (created if missing); resolves once it is in the file. */
  async write (path: string, data: Uint8Array, position: number): Promise<void> {
    if (data.byteLength === 0) return
    let state = this.files.get(path)
    if (state === undefined) {
      state = { unflushed: 0, flushing: undefined, failure: undefined }
      this.files.set(path, state)
    }
    if (state.failure !== undefined) throw state.failure
    // The handle stays in use (never evicted or closed) while the thread writes to its descriptor.
    await this.handles.use(path, true, async fh => { await this.thread.write(fh.fd, data, position) })
    state.unflushed += data.byteLength
    if (this.flushBytes > 0 && state.unflushed >= this.flushBytes && state.flushing === undefined) {
      state.unflushed = 0
      const s = state
      s.flushing = this.handles.use(path, true, async fh => { await fh.datasync() })
        .catch((err: unknown) => { s.failure ??= err })
        .finally(() => { s.flushing = undefined })
    }
  }

  /**
   * Waits for the background flush of `path` (before its final fsync, close or rename), throws
   * what it failed with, and forgets the file.
   */
  async settle (path: string): Promise<void> {
    const state = this.files.get(path)
    if (state === undefined) return
    await state.flushing
    this.files.delete(path)
    if (state.failure !== undefined) throw state.failure
  }

  /** `settle` for every file, then the thread ends; the first failure is thrown after all settled. */
  async settleAll (): Promise<void> {
    const results = await Promise.allSettled([...this.files.keys()].map(async p => await this.settle(p)))
    this.thread.close()
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }
}
