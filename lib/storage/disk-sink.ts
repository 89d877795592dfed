/**
 * The disk sink: the engine's verified pieces go in, the Storage writes them. It is the disk
 * counterpart of the merging Writable (lib/output/merging-writable.ts) and fits the same
 * `PieceSink` shape: `write(piece)` returns false when backpressured, `end()` resolves into
 * 'finish' once every write is on disk and the storage closed (FileStorage: fsynced, files renamed
 * to their final names), and any storage error destroys the sink with that StorageError.
 *
 * Memory is bounded twice: at most `highWaterMark` bytes of pieces queue before `write` says
 * stop, and at most `maxInFlight` storage writes of at most `maxInFlightBytes` in all run at once
 * (a write is acknowledged as soon as it starts while the bounds allow, so the storage always has
 * work queued: FileStorage merges adjacent pieces into one write, and its next write never waits
 * for the main thread to hand over the next piece).
 */
import { Writable, type WritableEvents } from 'streamx'
import type { VerifiedPiece } from '../output/merging-writable.js'
import type { Storage } from './storage.js'

export interface DiskSinkOptions {
  /** Queued bytes before `write` returns false. */
  readonly highWaterMark?: number
  /** Storage writes running at once. */
  readonly maxInFlight?: number
  /** Bytes of storage writes running at once (one piece may exceed it: it then runs alone). */
  readonly maxInFlightBytes?: number
}

export interface DiskSinkEvents extends WritableEvents {
  /** A piece is in the storage (for progress and for announcing `have`). */
  written: [index: number]
  /** Part of the PieceSink shape; only the stdout merger emits it, a disk sink never does. */
  advance: [next: number]
}

/**
 * Queued bytes before the engine is told to start no new piece: the pieces it is still fetching
 * keep coming meanwhile, so a small queue costs little. Measured `-o` 1 GiB to ext4 (4 libtorrent
 * seeders, loaded 2-core VM, interleaved): 1 MiB queued + 4 MiB in flight + a 16 MiB engine budget
 * as fast, and no more CPU per GiB, as 4 + 8 + 64 MiB, with ~45 MiB less peak RssAnon.
 */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024
/**
 * Writes handed to the storage at once. Measured (1 GiB, ext4, 256 KiB pieces, loaded 2-core VM):
 * with 4 in flight the sink refused pieces for 2.5-3 s of a 4-5 s download, with 64 for 0.4-0.9 s
 * (the download was CPU-bound either way on that machine). The byte bound below is what limits
 * memory.
 */
export const DEFAULT_MAX_IN_FLIGHT = 64
/**
 * 4 MiB: one merged write's worth (lib/storage/file-writer.ts), and what queues behind a running
 * write is merged into the next. Merged writes averaged 1.0-1.5 MiB at 4 and at 8 MiB (pieces
 * arrive rarest first, rarely adjacent); 8 MiB only held more memory.
 */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024

type Callback = (err: Error | null) => void

export class DiskSink extends Writable<DiskSinkEvents> {
  readonly storage: Storage
  private readonly maxInFlight: number
  private readonly maxInFlightBytes: number
  private readonly running = new Set<Promise<void>>()
  private runningBytes = 0
  /** The `_write` callback held back because `maxInFlight` writes are running. */
  private waiting: Callback | null = null
  /** The `_final` callback, once every running write has settled. */
  private finalCallback: Callback | null = null
  private failure: Error | null = null
  private writtenCount = 0

  constructor (storage: Storage, opts: DiskSinkOptions = {}) {
    super({
      highWaterMark: opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      byteLength: (piece: unknown) => (piece as VerifiedPiece).data.byteLength
    })
    this.storage = storage
    this.maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT
    this.maxInFlightBytes = opts.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) throw new RangeError(`maxInFlight must be a positive integer, got ${this.maxInFlight}`)
    if (!Number.isInteger(this.maxInFlightBytes) || this.maxInFlightBytes < 1) throw new RangeError(`maxInFlightBytes must be a positive integer, got ${this.maxInFlightBytes}`)
  }

  /** Pieces the storage has taken. */
  get piecesWritten (): number { return this.writtenCount }
  /** Storage writes running now. */
  get writesInFlight (): number { return this.running.size }

  /** Ends the sink once every wanted piece is written; 'finish' follows the storage's close. */
  override end (data?: unknown): this {
    // streamx's typings make the argument required; the PieceSink shape calls `end()` bare.
    return super.end(data)
  }

  override _write (piece: unknown, cb: Callback): void {
    const { index, data, release } = piece as VerifiedPiece
    const bytes = data.byteLength
    const job: Promise<void> = this.storage.write(index, data).then(
      () => {
        // The bytes are in the file: the engine may reuse their memory.
        release?.()
        this.running.delete(job)
        this.runningBytes -= bytes
        this.writtenCount++
        this.emit('written', index)
        this.settled()
      },
      (err: unknown) => {
        this.running.delete(job)
        this.runningBytes -= bytes
        this.fail(err instanceof Error ? err : new Error(String(err)))
      }
    )
    this.running.add(job)
    this.runningBytes += bytes
    if (this.roomForMore()) cb(null)
    else this.waiting = cb
  }

  override _final (cb: Callback): void {
    this.finalCallback = cb
    this.settled()
  }

  override _destroy (cb: Callback): void {
    // Let running writes land before the files close under them; a failed close adds nothing to
    // the error that destroyed us.
    void Promise.allSettled([...this.running])
      .then(async () => await this.storage.close())
      .then(() => cb(null), () => cb(null))
  }

  /** A write finished: let the next one start, or finish once all have. */
  private settled (): void {
    if (this.failure !== null) return
    if (this.waiting !== null && this.roomForMore()) {
      const cb = this.waiting
      this.waiting = null
      cb(null)
    }
    if (this.finalCallback !== null && this.running.size === 0) {
      const cb = this.finalCallback
      this.finalCallback = null
      this.storage.close().then(() => cb(null), (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))))
    }
  }

  /** Another write may start: both bounds leave room (the next piece's size is not known yet). */
  private roomForMore (): boolean {
    return this.running.size < this.maxInFlight && this.runningBytes < this.maxInFlightBytes
  }

  /**
   * streamx calls `_destroy` only once no `_write`/`_final` is active, so a held callback carries
   * the error; otherwise destroy directly.
   */
  private fail (err: Error): void {
    if (this.failure !== null) return
    this.failure = err
    const held = this.waiting ?? this.finalCallback
    this.waiting = null
    this.finalCallback = null
    if (held !== null) held(err)
    else this.destroy(err)
  }
}

/** `new DiskSink(storage, opts)`, for symmetry with the engine's other sink factories. */
export function createDiskSink (storage: Storage, opts?: DiskSinkOptions): DiskSink {
  return new DiskSink(storage, opts)
}
