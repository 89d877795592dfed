/**
 * A bounded cache of open file handles, least recently used closed first, so a torrent with
 * thousands of files never runs the process out of descriptors (EMFILE). A handle in use is never
 * closed under its user; if every cached handle is busy the cache briefly holds more than `max`,
 * bounded by the caller's own limit on operations in flight.
 *
 * Every file is opened below `root` without following a symbolic link (below-root.ts): the
 * directories between the root and the file must be real ones, the file itself is opened
 * O_NOFOLLOW.
 */
import type { FileHandle } from 'node:fs/promises'
import { openBelow } from './below-root.js'

/** Enough to keep the files a piece window touches open, far below the usual 1024 fd limit. */
export const DEFAULT_MAX_OPEN_FILES = 64

interface Entry {
  readonly handle: Promise<FileHandle>
  readonly writable: boolean
  users: number
  /** Written since the last fsync. */
  dirty: boolean
  /** Called when `users` drops to 0, for a close waiting on a busy handle. */
  onIdle?: () => void
}

export class FileHandles {
  /** The directory no file may be reached outside of (through a symlink below it). */
  readonly root: string
  private readonly max: number
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>()
  private readonly closing = new Set<Promise<void>>()

  /** Reads may follow symbolic links (seeding: LinkPolicy in layout.ts); writes never do. */
  private readonly followReads: boolean

  constructor (root: string, max = DEFAULT_MAX_OPEN_FILES, followReads = false) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max open files must be a positive integer, got ${max}`)
    this.root = root
    this.max = max
    this.followReads = followReads
  }

  /** Open handles right now (for tests). */
  get size (): number { return this.entries.size }

  /**
   * Runs `fn` with a handle on `path` (absolute, below the root). `writable` opens it read-write,
   * creating the file and its parent directories when missing (never truncating an existing
   * file). A symbolic link on the way is refused with SymlinkRefused.
   */
  async use<T> (path: string, writable: boolean, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.entries.get(path)
    if (entry !== undefined && writable && !entry.writable) {
      await this.close(path, false)
      entry = undefined
    }
    if (entry === undefined) {
      entry = { handle: openBelow(this.root, path, writable ? 'write' : 'read', this.followReads), writable, users: 0, dirty: false }
      this.entries.set(path, entry)
      // A failed open must not stay cached.
      entry.handle.catch(() => { if (this.entries.get(path) === entry) this.entries.delete(path) })
    } else {
      this.entries.delete(path)
      this.entries.set(path, entry)
    }
    entry.users++
    if (writable) entry.dirty = true
    this.evict()
    try {
      return await fn(await entry.handle)
    } finally {
      entry.users--
      if (entry.users === 0) entry.onIdle?.()
      this.evict()
    }
  }

  /** Closes the handle on `path` if one is open, first fsyncing it when `sync` and written to. */
  async close (path: string, sync: boolean): Promise<void> {
    const entry = this.entries.get(path)
    if (entry === undefined) return
    this.entries.delete(path)
    await closeEntry(entry, sync)
  }

  /** Closes every handle, fsyncing the written ones when `sync`. */
  async closeAll (sync: boolean): Promise<void> {
    const all = [...this.entries.values()]
    this.entries.clear()
    const results = await Promise.allSettled([...all.map(async e => await closeEntry(e, sync)), ...this.closing])
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  private evict (): void {
    if (this.entries.size <= this.max) return
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= this.max) break
      if (entry.users > 0) continue
      this.entries.delete(path)
      // Not fsynced: a closed file's data is as safe from a crash of this process as an open one's.
      const p = closeEntry(entry, false).catch(() => {}).finally(() => this.closing.delete(p))
      this.closing.add(p)
    }
  }
}

async function closeEntry (entry: Entry, sync: boolean): Promise<void> {
  // Never close a handle under a read or write still using it.
  if (entry.users > 0) await new Promise<void>(resolve => { entry.onIdle = resolve })
  let fh: FileHandle
  try { fh = await entry.handle } catch { return }
  try {
    if (sync && entry.dirty) await fh.sync()
  } finally {
    await fh.close()
  }
}
