/**
 * A progress tap: passes bytes through untouched and counts them, so a progress line can show
 * what the reader really received (not what was fetched). Composes anywhere in a pipeline.
 */
import { transform } from 'through2'
import type { Transform } from 'readable-stream'

export interface ProgressTap extends Transform {
  readonly bytes: number
}

export function progressMeter (): ProgressTap {
  let bytes = 0
  const tap = transform(function (this: Transform, chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null, data?: unknown) => void) {
    bytes += chunk.byteLength
    cb(null, chunk)
  })
  return Object.defineProperty(tap, 'bytes', { get: () => bytes }) as ProgressTap
}
