import { open } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { httpGet } from '../tracker/http-get.js'
import { BtStreamError, describeSystemError, FetchError, messageInWords, StorageError } from '../util/errors.js'

/**
 * Large enough for any real .torrent (the biggest in the wild are a few MiB of piece hashes);
 * a bound so `bt-stream info - < /dev/zero` stops instead of eating memory.
 */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024

/** A .torrent by URL must arrive within this long: a slow server fails in time, not at the stall timeout. */
export const FETCH_TIMEOUT_MS = 30_000
/** Redirects followed at most (download sites send one or two). */
const MAX_REDIRECTS = 5

/**
 * Reads a whole file, stdin for `-`, or an `http(s)://` URL (as aria2 and webtorrent-cli take a
 * .torrent by URL), refusing anything over `max` bytes.
 */
export async function readInput (source: string, stdin: Readable, max = MAX_INPUT_BYTES, signal?: AbortSignal): Promise<Buffer> {
  if (source === '-') return await readStream(stdin, max, 'stdin')
  if (isUrl(source)) return await fetchInput(source, max, signal)
  let handle
  try {
    handle = await open(source, 'r')
  } catch (err) {
    throw new StorageError(`cannot open ${source}: ${describeSystemError(err)}`, { cause: err })
  }
  try {
    const stat = await handle.stat()
    if (stat.isDirectory()) throw new StorageError(`${source} is a directory`)
    if (stat.size > max) throw new StorageError(`${source} is ${stat.size} bytes, more than the ${max} allowed`)
    return await readStream(handle.createReadStream({ autoClose: false }), max, source)
  } catch (err) {
    if (err instanceof BtStreamError) throw err
    throw new StorageError(`cannot read ${source}: ${describeSystemError(err)}`, { cause: err })
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

export function isUrl (source: string): boolean {
  return /^https?:\/\//i.test(source)
}

/** The same bounded GET the tracker client uses: one deadline, a byte cap, a few redirects. */
async function fetchInput (url: string, max: number, signal: AbortSignal | undefined): Promise<Buffer> {
  let res
  try {
    res = await httpGet(url, { timeoutMs: FETCH_TIMEOUT_MS, maxBytes: max, maxRedirects: MAX_REDIRECTS, signal: signal ?? new AbortController().signal })
  } catch (err) {
    throw new FetchError(`cannot fetch ${url}: ${err instanceof Error ? messageInWords(err) : String(err)}`, { cause: err })
  }
  if (res.status !== 200) throw new FetchError(`cannot fetch ${url}: HTTP ${res.status}`)
  return Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength)
}
