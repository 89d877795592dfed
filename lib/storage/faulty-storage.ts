/**
 * A layer that fails chosen writes of the storage it wraps with a given fs error (ENOSPC, EACCES,
 * EIO...), turned into a StorageError like a real one. Tests use it where the real condition
 * cannot be made (root ignores permission bits; not every machine can mount a tiny tmpfs).
 */
import type { Storage } from './storage.js'
import { toStorageError } from './storage-error.js'

export interface FaultOptions {
  /** The error code to raise, e.g. 'ENOSPC'. */
  readonly code: string
  /** Writes that succeed before the first failure; every later write fails too. */
  readonly afterWrites?: number
  /** The name the error message gives (the file the failed write was for). */
  readonly path?: string
}

export class FaultyStorage implements Storage {
  private readonly inner: Storage
  private readonly opts: FaultOptions
  private writes = 0

  constructor (inner: Storage, opts: FaultOptions) {
    this.inner = inner
    this.opts = opts
  }

  async write (index: number, data: Uint8Array): Promise<void> {
    if (this.writes++ >= (this.opts.afterWrites ?? 0)) {
      const err = Object.assign(new Error(`${this.opts.code}: injected`), { code: this.opts.code })
      throw toStorageError('write', this.opts.path ?? `piece ${index}`, err)
    }
    await this.inner.write(index, data)
  }

  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    return await this.inner.read(index, begin, length)
  }

  async close (): Promise<void> {
    await this.inner.close()
  }
}

