import { readFileSync } from 'node:fs'
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
