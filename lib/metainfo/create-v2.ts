/**
 * Making a BEP 52 .torrent, v2-only or hybrid, with the same info dict libtorrent 2.0's
 * create_torrent makes for the same files and piece length (so the same info hashes):
 *
 *   v2:     info = { file tree, meta version: 2, name, piece length, private? }
 *           (a file its owner may execute gets `attr: "x"`, in the tree and the v1 list)
 *   hybrid: the same plus v1 `pieces` and `length` (one file) or `files`, where every non-empty
 *           file that does not end on a piece boundary is followed by a BEP 47 padding file
 *           { attr: "p", length, path: [".pad", "<length>"] } (the last one too, as libtorrent
 *           does), so the v1 byte stream puts each file where the v2 piece space has it.
 *   top level: `piece layers` { <pieces root>: <piece layer> } for each file longer than a piece.
 *
 * Files are in file tree order: sorted component by component by their bytes (the tree is a
 * dictionary per directory), which is not the order of the '/'-joined paths (`a-b/x` vs `a/y`).
 * One read of each file feeds its merkle tree and, for hybrids, the SHA-1 pieces; memory is one
 * block, one SHA-1 piece state and the piece layers (32 bytes a piece, written out anyway).
 */
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { toStorageError } from '../storage/storage-error.js'
import { MetainfoError } from '../util/errors.js'
import { FileMerkleHasher } from '../v2/merkle.js'
import { cdict, encodeCanonical, type CanonicalDict, type CanonicalValue } from './bencode-canonical.js'
import { READ_CHUNK, type CreatedTorrent, type CreateOptions, type InputFile } from './create.js'
import { parseTorrent } from './parse.js'

/** Zeros fed to SHA-1 for padding, a bounded buffer reused (padding is < one piece). */
const ZEROS = Buffer.alloc(64 * 1024)

interface Hashed {
  readonly file: InputFile
  readonly root: Uint8Array | undefined
  readonly layer: readonly Uint8Array[]
  /** Hybrid multi-file: bytes of BEP 47 padding after this file. */
  readonly pad: number
}

export async function createV2Torrent (name: string, inputFiles: readonly InputFile[], multiFile: boolean, pieceLength: number, total: number, opts: CreateOptions & { version: 'v2' | 'hybrid' }): Promise<CreatedTorrent> {
  const files = [...inputFiles].sort((a, b) => compareComponents(a.components, b.components))
  const hybrid = opts.version === 'hybrid'
  const sha1 = hybrid ? new Sha1Pieces(pieceLength) : undefined
  const hashed: Hashed[] = []
  let done = 0
  for (const file of files) {
    const merkle = new FileMerkleHasher(pieceLength)
    let read = 0
    try {
      for await (const chunk of createReadStream(file.abs, { highWaterMark: READ_CHUNK, signal: opts.signal }) as AsyncIterable<Buffer>) {
        read += chunk.byteLength
        if (read > file.length) break
        merkle.update(chunk)
        sha1?.update(chunk)
        done += chunk.byteLength
        opts.onProgress?.(done, total)
      }
    } catch (err) {
      if (opts.signal?.aborted === true) throw err
      throw toStorageError('read', file.abs, err)
    }
    if (read !== file.length) throw new MetainfoError(`${JSON.stringify(file.abs)} changed size while being hashed (${file.length} -> ${read} bytes)`)
    const pad = hybrid && multiFile && file.length % pieceLength !== 0 ? pieceLength - (file.length % pieceLength) : 0
    sha1?.zeros(pad)
    const { root, pieceLayer } = merkle.digest()
    hashed.push({ file, root, layer: pieceLayer, pad })
  }

  const info: [string, CanonicalValue][] = [
    ['file tree', fileTree(hashed, multiFile, name)],
    ['meta version', 2],
    ['name', name],
    ['piece length', pieceLength]
  ]
  if (sha1 !== undefined) {
    info.push(['pieces', sha1.digest()])
    if (multiFile) info.push(['files', hashed.flatMap(h => v1Entries(h))])
    else info.push(['length', total])
    if (!multiFile && files[0]?.executable === true) info.push(['attr', 'x'])
  }
  if (opts.private === true) info.push(['private', 1])

  const top: [string, CanonicalValue][] = [['info', cdict(info)]]
  const trackers = opts.trackers ?? []
  if (trackers.length > 0) top.push(['announce', trackers[0] as string])
  if (trackers.length > 1) top.push(['announce-list', trackers.map(t => [t])])
  if (opts.comment !== undefined) top.push(['comment', opts.comment])
  top.push(['created by', opts.createdBy ?? 'bt-stream'])
  if (opts.creationDate !== null) top.push(['creation date', opts.creationDate ?? Math.floor(Date.now() / 1000)])
  if (opts.webSeeds !== undefined && opts.webSeeds.length > 0) top.push(['url-list', [...opts.webSeeds]])
  const layers = pieceLayers(hashed, pieceLength)
  if (layers.entries.length > 0) top.push(['piece layers', layers])
  const bytes = encodeCanonical(cdict(top))
  return { torrent: bytes, meta: parseTorrent(bytes, { allowV2Only: true }) }
}

/** Component-wise byte order: the order of a file tree's nested dictionaries. */
export function compareComponents (a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(Buffer.from(a[i] as string, 'utf8'), Buffer.from(b[i] as string, 'utf8'))
    if (c !== 0) return c
  }
  return a.length - b.length
}

interface TreeNode { readonly children: Map<string, TreeNode>, leaf?: CanonicalDict }

function fileTree (hashed: readonly Hashed[], multiFile: boolean, name: string): CanonicalDict {
  const root: TreeNode = { children: new Map() }
  for (const h of hashed) {
    const path = multiFile ? h.file.components : [name]
    let node = root
    for (const c of path) {
      let next = node.children.get(c)
      if (next === undefined) { next = { children: new Map() }; node.children.set(c, next) }
      node = next
    }
    const props: [string, CanonicalValue][] = [['length', h.file.length]]
    if (h.file.executable === true) props.push(['attr', 'x'])
    if (h.root !== undefined) props.push(['pieces root', h.root])
    node.leaf = cdict(props)
  }
  const toDict = (n: TreeNode): CanonicalDict => n.leaf !== undefined
    ? cdict([['', n.leaf]])
    : cdict([...n.children].map(([k, child]) => [k, toDict(child)] as const))
  return toDict(root)
}

function v1Entries (h: Hashed): CanonicalValue[] {
  const entry: [string, CanonicalValue][] = [['length', h.file.length], ['path', h.file.components]]
  if (h.file.executable === true) entry.push(['attr', 'x'])
  const out: CanonicalValue[] = [cdict(entry)]
  if (h.pad > 0) out.push(cdict([['attr', 'p'], ['length', h.pad], ['path', ['.pad', String(h.pad)]]]))
  return out
}

function pieceLayers (hashed: readonly Hashed[], pieceLength: number): CanonicalDict {
  const seen = new Set<string>()
  const entries: [Uint8Array, CanonicalValue][] = []
  for (const h of hashed) {
    if (h.root === undefined || h.file.length <= pieceLength) continue
    const key = Buffer.from(h.root).toString('hex')
    if (seen.has(key)) continue // identical files: one root, one layer
    seen.add(key)
    entries.push([h.root, Buffer.concat(h.layer)])
  }
  return cdict(entries)
}

/** SHA-1 of each piece of the v1 byte stream (BEP 3), padding included. */
class Sha1Pieces {
  private readonly _pieceLength: number
  private readonly _out: Buffer[] = []
  private _hash: Hash = createHash('sha1')
  private _inPiece = 0

  constructor (pieceLength: number) {
    this._pieceLength = pieceLength
  }

  update (chunk: Uint8Array): void {
    let at = 0
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, this._pieceLength - this._inPiece)
      this._hash.update(chunk.subarray(at, at + take))
      at += take
      this._inPiece += take
      if (this._inPiece === this._pieceLength) {
        this._out.push(this._hash.digest())
        this._hash = createHash('sha1')
        this._inPiece = 0
      }
    }
  }

  zeros (n: number): void {
    for (let left = n; left > 0; left -= ZEROS.length) this.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)))
  }

  digest (): Buffer {
    if (this._inPiece > 0) this._out.push(this._hash.digest())
    this._inPiece = 0
    return Buffer.concat(this._out)
  }
}
