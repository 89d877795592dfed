import { open } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { BtStreamError, StorageError } from '../util/errors.js'

/**
 * Large enough for any real .torrent (the biggest in the wild are a few MiB of piece hashes);
 * a bound so `bt-stream info - < /dev/zero` stops instead of eating memory.
 */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024

/** Reads a whole file, or stdin for `-`, refusing anything over `max` bytes. */
export async function readInput (source: string, stdin: Readable, max = MAX_INPUT_BYTES): Promise<Buffer> {
  if (source === '-') return await readStream(stdin, max, 'stdin')
  let handle
  try {
    handle = await open(source, 'r')
  } catch (err) {
    throw new StorageError(`cannot open ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err })
  }
  try {
    const stat = await handle.stat()
    if (stat.isDirectory()) throw new StorageError(`${source} is a directory`)
    if (stat.size > max) throw new StorageError(`${source} is ${stat.size} bytes, more than the ${max} allowed`)
    return await readStream(handle.createReadStream({ autoClose: false }), max, source)
  } catch (err) {
    if (err instanceof BtStreamError) throw err
    throw new StorageError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err })
  } finally {
    await handle.close()
  }
}

async function readStream (stream: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer
    total += b.length
    if (total > max) {
      stream.destroy()
      throw new StorageError(`${what} holds more than the ${max} bytes allowed`)
    }
    chunks.push(b)
  }
  return Buffer.concat(chunks, total)
}
