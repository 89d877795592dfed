import { createServer, connect, type Server, type Socket } from 'node:net'
import { encodeMessage } from '../../lib/wire/encoder.js'
import type { Message } from '../../lib/wire/messages.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'

/** A connected TCP socket pair on 127.0.0.1; `close()` ends both and the listening server. */
export async function socketPair (): Promise<{ a: Socket, b: Socket, server: Server, close: () => Promise<void> }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
  const a = connect({ host: '127.0.0.1', port: addr.port })
  await new Promise<void>((resolve, reject) => { a.once('connect', resolve); a.once('error', reject) })
  const b = await accepted
  const close = async (): Promise<void> => {
    a.destroy()
    b.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { a, b, server, close }
}

/** Concatenated wire bytes of messages (tests only: the encoder itself never concatenates). */
export function frames (messages: readonly Message[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const m of messages) {
    const e = encodeMessage(m)
    parts.push(e.head)
    if (e.body !== undefined) parts.push(e.body)
  }
  return Buffer.concat(parts)
}

/** Rejects after `ms` with `what` in the message: every wait in a test has a bound. */
export function within<T> (ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms) })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Mulberry32: a small seeded PRNG so fuzz runs are reproducible. */
export function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Plain-data form of a message, for deepStrictEqual across views and copies. */
export function plain (m: unknown): unknown {
  if (m instanceof Uint8Array) return Array.from(m)
  if (Array.isArray(m)) return m.map(plain)
  if (typeof m === 'object' && m !== null) return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, plain(v)]))
  return m
}

/**
 * Reads the next message not of a `skip` type, without an async iterator (leaving a `for await`
 * early destroys the stream, as with any Readable).
 */
export async function next (conn: PeerConnection, skip: readonly string[] = ['extended']): Promise<Message> {
  for (;;) {
    const m = await within(5000, 'next message', new Promise<Message | null>((resolve, reject) => {
      const got = conn.read() as Message | null
      if (got !== null) { resolve(got); return }
      const onReadable = (): void => { cleanup(); resolve(conn.read() as Message | null) }
      const onClose = (): void => { cleanup(); reject(new Error('closed')) }
      const cleanup = (): void => { conn.off('readable', onReadable); conn.off('close', onClose) }
      conn.on('readable', onReadable)
      conn.on('close', onClose)
    }))
    if (m !== null && !skip.includes(m.type)) return m
  }
}

/** The next message of one type, skipping others. */
export async function nextOf<T extends Message['type']> (conn: PeerConnection, type: T): Promise<Extract<Message, { type: T }>> {
  for (;;) {
    const m = await next(conn, [])
    if (m.type === type) return m as Extract<Message, { type: T }>
  }
}
