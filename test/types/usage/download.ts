/**
 * A strict TypeScript user of `download()`: chunks are Uint8Array, events carry their types, and
 * the edge transforms are Node Transforms that compose with stream.pipeline.
 */
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import type { Transform } from 'node:stream'
import {
  chunker, download, MergingWritable, parseTorrent, progressMeter, tarOf, tarRange, TarOutput, tracker,
  type ByteReadable,
  type DownloadProgress, type DownloadStream, type Metainfo, type ProgressTap, type TarOptions
} from 'bt-stream'

export async function readAll (torrent: Uint8Array): Promise<number> {
  const meta: Metainfo = parseTorrent(torrent)
  const stream: DownloadStream = download(meta, { file: 0, windowBytes: 1 << 20, signal: AbortSignal.timeout(1000) })
  let n = 0
  for await (const chunk of stream) {
    const bytes: Uint8Array = chunk
    n += bytes.byteLength
    // @ts-expect-error a chunk is bytes, not text
    const text: string = chunk
    void text
  }
  const next: Uint8Array | null = stream.read()
  void next
  return n
}

export function events (stream: DownloadStream): void {
  stream.on('progress', (p: DownloadProgress) => { const pct: number = p.verified / p.total; void pct })
  stream.on('data', chunk => { const b: Uint8Array = chunk; void b })
  stream.on('tracker-error', (f: tracker.TrackerFailure) => { void f })
  stream.on('peer-banned', (addr, reason) => { const host: string = addr.host; const why: string = reason; void host; void why })
  // @ts-expect-error progress is an object, not a number
  stream.on('progress', (p: number) => { void p })
  const verified: number = stream.progress.verified
  void verified
}

export async function toFile (meta: Metainfo, path: string): Promise<void> {
  const meter: ProgressTap = progressMeter()
  const cut: Transform = chunker(64 * 1024)
  await pipeline(download(meta), meter, cut, createWriteStream(path))
  const bytes: number = meter.bytes
  void bytes
  // @ts-expect-error the count is read-only
  meter.bytes = 0
  // @ts-expect-error chunker() is a Transform, not any
  cut.noSuchMethod()
  // @ts-expect-error the chunk size is a number
  chunker('64k')
}

export async function tarOfFiles (meta: Metainfo, files: number[]): Promise<void> {
  const range: { start: number, end: number } = tarRange(meta, files)
  const opts: TarOptions = { ...range, files, mtime: new Date(0) }
  const tar = new TarOutput(meta, opts)
  const stream = download(meta, { range })
  stream.pipe(tar)
  for await (const chunk of tar) { const b: Uint8Array = chunk; void b }
  // @ts-expect-error files are indexes
  void new TarOutput(meta, { files: ['a'] })
  // The archive of a download, into Node's pipeline as a source.
  await pipeline(tarOf(download(meta, { range }), { files }), createWriteStream('album.tar'))
  // @ts-expect-error tarOf takes the download's stream, not its metainfo
  tarOf(meta)
}

export async function merge (): Promise<void> {
  const merger = new MergingWritable({ pieceLength: 4, start: 0, end: 8, maxHeldBytes: 8 })
  merger.write({ index: 1, data: new Uint8Array(4) })
  merger.write({ index: 0, data: new Uint8Array(4) })
  // @ts-expect-error what goes in is a VerifiedPiece
  merger.write(new Uint8Array(4))
  const out: ByteReadable = merger.output
  for await (const chunk of out) { const b: Uint8Array = chunk; void b }
}
