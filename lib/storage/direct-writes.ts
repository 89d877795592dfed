/**
 * Writes that bypass the page cache (O_DIRECT), for the file writer's merged runs.
 *
 * Why: a buffered write copies every byte into page-cache pages the kernel allocates for it, and
 * on a VM those pages are often memory the host took back (free page reporting), so the copy
 * faults on the host page by page. Measured, `-o` 1 GiB to ext4 from 4 libtorrent seeders: that
 * copy (copy_folio_from_iter_atomic) was 1.0 s of the process's 5.2 CPU s, 1.2-1.8 s of system
 * CPU per GiB in all, where a direct write costs 0.15 s (dd, 4 MiB writes). What it costs instead:
 * one copy in user space into an aligned staging buffer (memory that stays mapped: 0.1-0.2 s per
 * GiB) and the device's time, synchronous (about 1 GiB/s here, one write per file at a time).
 *
 * O_DIRECT wants the memory, the file offset and the length aligned (to the device's logical
 * block, 512 or 4096 bytes); piece buffers are not (malloc gives them a 16-byte header), so every
 * run goes through a staging buffer: a WebAssembly.Memory, whose base V8 maps page-aligned. The
 * file offsets and lengths are cut at 4096: what lies outside the aligned middle of a run (a
 * file's unaligned end, a piece that crosses files) is written through the page cache as before.
 *
 * The direct descriptor is the buffered one reopened through /proc/self/fd (the same file, no
 * path walked again, so below-root.ts's symlink rules still hold). Where that or the first direct
 * write fails with EINVAL (a file system without O_DIRECT, no /proc), the file stays buffered.
 */
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { copyInto } from '../util/copy-bytes.js'

/** File offsets and lengths of direct writes are multiples of this (any device's logical block). */
export const DIRECT_ALIGN = 4096
/**
 * Bytes staged per direct write: the file writer's largest merged run (MAX_MERGED_BYTES), so a
 * run is one system call. Measured with dd, 1 GiB: 4 MiB direct writes 0.95-1.2 s, 1 MiB 1.3-1.7.
 */
export const STAGING_BYTES = 4 * 1024 * 1024
/** A run with a smaller aligned middle goes through the page cache: not worth a system call more. */
export const MIN_DIRECT_BYTES = 64 * 1024
/** Direct descriptors kept open (the files written last); the buffered handles are bounded elsewhere. */
export const MAX_DIRECT_FILES = 8

const WASM_PAGE = 64 * 1024

/** Writes `buffers` at `position` through a buffered handle, all of it (the file writer's writevAll). */
export type BufferedWrite = (fh: FileHandle, buffers: Uint8Array[], position: number) => Promise<void>

export class DirectWrites {
  /** Open direct descriptors by path, least recently used first; null: this file stays buffered. */
  private readonly files = new Map<string, Promise<FileHandle | null>>()
  /** Paths with a direct write running: their descriptor is never closed under it. */
  private readonly busy = new Set<string>()
  private readonly free: Uint8Array[] = []
  /** Bytes written directly (tests, benchmarks). */
  directBytes = 0

  /**
   * Writes the run `buffers` (contiguous in the file from `position`) with `fh` as the buffered
   * handle of `path`: its aligned middle directly, the rest through `buffered`. False, having
   * written nothing, when the run is to go through the page cache whole.
   */
  async write (path: string, fh: FileHandle, buffers: Uint8Array[], position: number, buffered: BufferedWrite): Promise<boolean> {
    let length = 0
    for (const b of buffers) length += b.byteLength
    const start = alignUp(position)
    const end = alignDown(position + length)
    if (end - start < MIN_DIRECT_BYTES) return false
    this.busy.add(path)
    try {
      return await this.writeRun(path, fh, buffers, position, length, start, end, buffered)
    } finally {
      this.busy.delete(path)
    }
  }

  private async writeRun (path: string, fh: FileHandle, buffers: Uint8Array[], position: number, length: number, start: number, end: number, buffered: BufferedWrite): Promise<boolean> {
    const direct = await this.handle(path, fh)
    if (direct === null) return false
    if (start > position) await buffered(fh, slice(buffers, 0, start - position), position)
    let at = start
    const staging = this.free.pop() ?? stagingBuffer()
    try {
      while (at < end) {
        const n = Math.min(STAGING_BYTES, end - at)
        copyRange(buffers, at - position, n, staging)
        const written = await writeDirect(direct, staging, n, at)
        if (written === null) {
          // EINVAL past the first write: this file system will not; the rest goes buffered.
          this.files.set(path, Promise.resolve(null))
          await direct.close().catch(() => {})
          break
        }
        this.directBytes += written
        at += written
        // A short write (a full disk) ends on any byte: the rest goes buffered, which reports why.
        if (written < n) break
      }
    } finally {
      this.free.push(staging)
    }
    if (at < position + length) await buffered(fh, slice(buffers, at - position, position + length - at), at)
    return true
  }

  /** Closes the direct descriptor of `path` (before its final fsync and rename, or when done). */
  async forget (path: string): Promise<void> {
    const p = this.files.get(path)
    if (p === undefined) return
    this.files.delete(path)
    await (await p)?.close()
  }

  /** Closes every direct descriptor and drops the staging memory. */
  async closeAll (): Promise<void> {
    const all = [...this.files.values()]
    this.files.clear()
    this.free.length = 0
    await Promise.allSettled(all.map(async p => await (await p)?.close()))
  }

  private async handle (path: string, fh: FileHandle): Promise<FileHandle | null> {
    let p = this.files.get(path)
    if (p !== undefined) {
      this.files.delete(path)
      this.files.set(path, p)
      return await p
    }
    p = open(`/proc/self/fd/${fh.fd}`, constants.O_WRONLY | constants.O_DIRECT).catch(() => null)
    this.files.set(path, p)
    for (const [old, q] of this.files) {
      if (this.files.size <= MAX_DIRECT_FILES) break
      if (this.busy.has(old)) continue
      this.files.delete(old)
      void q.then(async h => await h?.close()).catch(() => {})
    }
    return await p
  }
}

/** A page-aligned staging buffer (V8 maps WebAssembly memory at a page boundary). */
function stagingBuffer (): Uint8Array {
  return new Uint8Array(new WebAssembly.Memory({ initial: STAGING_BYTES / WASM_PAGE }).buffer)
}

/** Bytes written, or null when the descriptor refuses direct writes (EINVAL). */
async function writeDirect (fh: FileHandle, staging: Uint8Array, length: number, position: number): Promise<number | null> {
  try {
    const { bytesWritten } = await fh.write(staging, 0, length, position)
    return bytesWritten
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return null
    throw err
  }
}

function alignUp (n: number): number { return Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN }
function alignDown (n: number): number { return Math.floor(n / DIRECT_ALIGN) * DIRECT_ALIGN }

/** `length` bytes from `offset` of the concatenation of `buffers`, copied to the start of `into`. */
function copyRange (buffers: readonly Uint8Array[], offset: number, length: number, into: Uint8Array): void {
  let skip = offset
  let out = 0
  for (const b of buffers) {
    if (out === length) break
    if (skip >= b.byteLength) { skip -= b.byteLength; continue }
    const n = Math.min(b.byteLength - skip, length - out)
    copyInto(into, b.subarray(skip, skip + n), out)
    out += n
    skip = 0
  }
}

/** Views of `length` bytes from `offset` of the concatenation of `buffers` (no copy). */
function slice (buffers: readonly Uint8Array[], offset: number, length: number): Uint8Array[] {
  const out: Uint8Array[] = []
  let skip = offset
  let left = length
  for (const b of buffers) {
    if (left === 0) break
    if (skip >= b.byteLength) { skip -= b.byteLength; continue }
    const n = Math.min(b.byteLength - skip, left)
    out.push(b.subarray(skip, skip + n))
    left -= n
    skip = 0
  }
  return out
}
