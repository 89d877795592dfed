import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { PassThrough, Readable, Writable } from 'node:stream'
import type { CliIO } from '../lib/cli/io.js'

/** The repo's fixtures/ directory, from dist/test/ where the compiled tests run. */
export const FIXTURES = new URL('../../fixtures/', import.meta.url)

export function fixture (name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES))
}

/** What the independent tools (libtorrent 2.0, transmission-show 3.00) report; see fixtures/. */
export interface Expected {
  infoHashV1: string | null
  infoHashV2: string | null
  transmissionShowHash?: string
  name: string
  pieceLength: number
  pieceCount: number
  totalSize: number
  private: boolean
  creator: string
  comment: string
  trackers: [string, number][]
  webSeeds: string[]
  files: { path: string, size: number, offset: number, pad: boolean }[]
}

export const expected = JSON.parse(fixture('expected.json').toString('utf8')) as Record<string, Expected>

/** A CLI io whose output is collected; stdin holds `input`. */
export function fakeIO (input: Uint8Array | string = ''): CliIO & { out: () => string, err: () => string } {
  let out = ''
  let err = ''
  const sink = (append: (s: string) => void): Writable => new Writable({
    write (chunk: Buffer, _enc, cb) { append(chunk.toString('utf8')); cb() }
  })
  const stdin = input.length === 0 ? Readable.from([]) : new PassThrough().end(input)
  return {
    stdin,
    stdout: sink(s => { out += s }),
    stderr: sink(s => { err += s }),
    signal: new AbortController().signal,
    out: () => out,
    err: () => err
  }
}

/** mulberry32: a tiny seeded PRNG so fuzz cases are the same on every run. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Every chunk of a stream, concatenated (the stream's whole output). */
export async function collect (stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array))
  return Buffer.concat(parts)
}

/**
 * A loopback port nothing listens on, for "connection refused" cases. Neither port 9 (a machine
 * may run discard there) nor a port bound at 0 and released (the kernel hands ephemeral ports to
 * the next bind(0) or outgoing connection, perhaps a parallel test's): a port below the
 * ephemeral range that we could bind (so it was free), released. Only an explicit bind to that
 * very number could take it, and no one here makes one.
 */
export async function deadPort (kind: 'tcp' | 'udp'): Promise<number> {
  const low = ephemeralLow()
  for (let attempt = 0; attempt < DEAD_PORT_ATTEMPTS; attempt++) {
    const port = DEAD_PORT_FROM + Math.floor(Math.random() * (low - DEAD_PORT_FROM))
    if (await bindsAndReleases(kind, port)) return port
  }
  throw new Error(`no free ${kind} port found in ${DEAD_PORT_FROM}..${low - 1}`)
}

/** Above the registered services most machines run (up to 10000), below the ephemeral range. */
const DEAD_PORT_FROM = 10_000
const DEAD_PORT_ATTEMPTS = 50

/** The first port the kernel may hand out on its own (Linux: ip_local_port_range; else IANA's 49152). */
function ephemeralLow (): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > DEAD_PORT_FROM + 1000) return low
  } catch {}
  return 49152
}

async function bindsAndReleases (kind: 'tcp' | 'udp', port: number): Promise<boolean> {
  if (kind === 'udp') {
    const socket = createSocket('udp4')
    const bound = await new Promise<boolean>(resolve => {
      socket.once('error', () => resolve(false))
      socket.bind(port, '127.0.0.1', () => resolve(true))
    })
    await new Promise<void>(resolve => { try { socket.close(() => resolve()) } catch { resolve() } })
    return bound
  }
  const server = createServer()
  const bound = await new Promise<boolean>(resolve => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => resolve(true))
  })
  if (bound) await new Promise<void>(resolve => server.close(() => resolve()))
  return bound
}

/** A fresh directory under the OS temp dir and a function that removes it (for try/finally). */
export function tempDir (prefix = 'bt-test-'): { dir: string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
