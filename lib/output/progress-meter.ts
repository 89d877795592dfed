/**
 * A progress tap: passes bytes through untouched and counts them, so a progress line can show
 * what the reader really received (not what was fetched). Composes anywhere in a pipeline.
 * Typed as Node's `stream.Transform` for the reason chunker.ts gives.
 */
import type { Transform } from 'node:stream'
import { transform } from 'through2'

export interface ProgressTap extends Transform {
  /** Bytes that passed through so far. */
  readonly bytes: number
}

export function progressMeter (): ProgressTap {
  let bytes = 0
  const tap = transform(function (chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null, data?: Uint8Array) => void) {
    bytes += chunk.byteLength
    cb(null, chunk)
  })
  return Object.defineProperty(tap, 'bytes', { get: () => bytes }) as unknown as ProgressTap
}
