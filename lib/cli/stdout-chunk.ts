/**
 * How large a chunk the CLI writes to stdout, by what stdout is. A pipe or socket: 64 KiB, what a
 * pipe takes best (lib/output/chunker.ts). A file (or a device such as /dev/null): a write costs
 * the same per call whatever its size, so pieces go whole up to 1 MiB: with 256 KiB pieces 4 times
 * fewer writes, and fewer chunks through the streams on the way (measured, 1 GiB from 4 seeders
 * into a file on /dev/shm: write calls 17 900 -> 5 600 per GiB, CPU per GiB -2% in 8
 * interleaved rounds).
 */
import { fstatSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { STDOUT_CHUNK } from '../output/chunker.js'

export const FILE_CHUNK = 1024 * 1024

export function stdoutChunkBytes (stdout: Writable): number {
  // Node's process.stdout carries its descriptor; a stream a test injects has none.
  const fd = (stdout as { fd?: unknown }).fd
  if (typeof fd !== 'number') return STDOUT_CHUNK
  try {
    const st = fstatSync(fd)
    return st.isFIFO() || st.isSocket() ? STDOUT_CHUNK : FILE_CHUNK
  } catch {
    return STDOUT_CHUNK
  }
}
