/**
 * Test-side BEP 52 helpers, deliberately independent of lib/v2/merkle.ts: a naive merkle tree
 * (every layer held in full, built with node:crypto) and a tiny bencoder whose dictionaries keep
 * the order they are given and take binary keys, which the `bencode` package cannot do.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { FIXTURES } from '../helpers.js'

export const V2_FIXTURES = new URL('v2/', FIXTURES)

export function v2Fixture (name: string): Buffer {
  return readFileSync(new URL(name, V2_FIXTURES))
}

/** What libtorrent 2.0 reported for each torrent of fixtures/v2 (see fixtures/v2/make.py). */
export interface V2Expected {
  input: string
  pieceLength: number
  v2Only: boolean
  infoHashV1: string | null
  infoHashV2: string
  name: string
  pieceCount: number
  totalSize: number
  files: { path: string, size: number, offset: number, pad: boolean, piecesRoot: string | null }[]
  treeRoots: Record<string, string>
  pieceLayers: Record<string, string>
}

export const v2Expected = JSON.parse(v2Fixture('expected.json').toString('utf8')) as Record<string, V2Expected>

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Every layer of a file's tree, leaves first, padded as BEP 52 says. */
export function naiveTree (data: Uint8Array): Buffer[][] {
  const leaves: Buffer[] = []
  for (let i = 0; i < data.length; i += 16384) leaves.push(sha(data.subarray(i, Math.min(i + 16384, data.length))))
  let width = 1
  while (width < leaves.length) width *= 2
  while (leaves.length < width) leaves.push(Buffer.alloc(32))
  const layers = [leaves]
  while ((layers.at(-1) as Buffer[]).length > 1) {
    const below = layers.at(-1) as Buffer[]
    const up: Buffer[] = []
    for (let i = 0; i < below.length; i += 2) up.push(sha(below[i] as Buffer, below[i + 1] as Buffer))
    layers.push(up)
  }
  return layers
}

/** The root, and the piece layer cut to the file's pieces (BEP 52 "piece layers"). */
export function naiveHashes (data: Uint8Array, pieceLength: number): { root: Buffer, layer: Buffer[] } {
  const layers = naiveTree(data)
  const root = (layers.at(-1) as Buffer[])[0] as Buffer
  const height = Math.log2(pieceLength / 16384)
  const pieces = Math.ceil(data.length / pieceLength)
  const layer = data.length > pieceLength ? (layers[height] as Buffer[]).slice(0, pieces) : []
  return { root, layer }
}

export type BValue = number | string | Uint8Array | BValue[] | BDict
/** A dictionary as ordered entries: the encoder writes them in this order. */
export interface BDict { readonly dict: readonly (readonly [string | Uint8Array, BValue])[] }

export function dict (...entries: (readonly [string | Uint8Array, BValue])[]): BDict {
  return { dict: entries }
}

export function benc (v: BValue): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${v}e`)
  if (typeof v === 'string') return benc(Buffer.from(v, 'utf8'))
  if (v instanceof Uint8Array) return Buffer.concat([Buffer.from(`${v.length}:`), v])
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(benc), Buffer.from('e')])
  return Buffer.concat([Buffer.from('d'), ...(v as BDict).dict.flatMap(([k, x]) => [benc(k), benc(x)]), Buffer.from('e')])
}
