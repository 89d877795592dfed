/**
 * The stdout chunker: re-cuts whole pieces (256 KiB .. 16 MiB) into ~64 KiB views before they
 * reach a pipe. Measured here: 64 KiB writes pipe about twice as fast as 1 MiB ones, and the pipe
 * reader sees bytes sooner. Views, not copies: the piece buffer is shared until the last slice goes.
 *
 * Its public type is Node's `stream.Transform`: through2 builds it on readable-stream, which is
 * Node's own stream code published as a package (same classes, same API), and declaring Node's
 * type keeps readable-stream's types (a devDependency) out of our .d.ts, so a user with
 * `skipLibCheck: false` needs nothing but @types/node.
 */
import type { Transform } from 'node:stream'
import { transform } from 'through2'

export const STDOUT_CHUNK = 64 * 1024

/** Passes Uint8Array chunks through as views of at most `size` bytes each. */
export function chunker (size = STDOUT_CHUNK): Transform {
  const t = transform({ highWaterMark: 4 * size }, function (chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    for (let at = 0; at < buf.length; at += size) t.push(buf.subarray(at, Math.min(buf.length, at + size)))
    cb()
  })
  // readable-stream's Transform is Node's Transform code; only the declaration files differ.
  return t as unknown as Transform
}
