/**
 * A layer that delays every write (and read) of the storage it wraps: a slow disk, for tests of
 * backpressure and benchmarks of the engine when the disk is the bottleneck.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Storage } from './storage.js'

export interface SlowOptions {
  /** Fixed delay per operation, in milliseconds. */
  readonly latencyMs?: number
  /** Throughput limit in bytes per second (0: none); each operation waits length / rate. */
  readonly bytesPerSecond?: number
}

export class SlowStorage implements Storage {
  private readonly inner: Storage
  private readonly latencyMs: number
  private readonly bytesPerSecond: number
  /** Operations currently waiting or running (a test's view of what the sink has in flight). */
  inFlight = 0
  peakInFlight = 0

  constructor (inner: Storage, opts: SlowOptions) {
    this.inner = inner
    this.latencyMs = opts.latencyMs ?? 0
    this.bytesPerSecond = opts.bytesPerSecond ?? 0
  }

  async write (index: number, data: Uint8Array): Promise<void> {
    await this.delayed(data.byteLength, async () => await this.inner.write(index, data))
  }

  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    return await this.delayed(length, async () => await this.inner.read(index, begin, length))
  }

  async close (): Promise<void> {
    await this.inner.close()
  }

  private async delayed<T> (bytes: number, op: () => Promise<T>): Promise<T> {
    this.inFlight++
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight
    try {
      const ms = this.latencyMs + (this.bytesPerSecond > 0 ? bytes * 1000 / this.bytesPerSecond : 0)
      if (ms > 0) await sleep(ms)
      return await op()
    } finally {
      this.inFlight--
    }
  }
}
