/**
 * The stdout chunker: re-cuts whole pieces (256 KiB .. 16 MiB) into ~64 KiB views before they
 * reach a pipe. Measured here: 64 KiB writes pipe about twice as fast as 1 MiB ones, and the pipe
 * reader sees bytes sooner. Views, not copies: the piece buffer is shared until the last slice goes.
 */
import { transform } from 'through2'
import type { Transform } from 'readable-stream'

export const STDOUT_CHUNK = 64 * 1024

export function chunker (size = STDOUT_CHUNK): Transform {
  return transform({ highWaterMark: 4 * size }, function (this: Transform, chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    for (let at = 0; at < buf.length; at += size) this.push(buf.subarray(at, Math.min(buf.length, at + size)))
    cb()
  })
}
