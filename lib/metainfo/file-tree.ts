/**
 * The BEP 52 `file tree`, read in file order from the info dict's bytes (see raw-dict.ts):
 *
 *   file tree: { dir1: { dir2: { fileA.txt: { "": { length: <int>, pieces root: <32 bytes> } } } } }
 *
 * Rules checked (BEP 52 "file tree", "File tree layout"):
 * - every node is a dictionary; a node holding the empty key `""` is a file, and the `""` entry
 *   must be its only entry ("must not have any sibling entries");
 * - the root itself must not be a file;
 * - `length` is a non-negative integer; `pieces root` is 32 bytes and required when length > 0.
 *   An empty file has no pieces root (one given anyway is ignored, as libtorrent does);
 * - path components are untrusted: they go through the safe-path policy like v1 paths.
 */
import { MetainfoError } from '../util/errors.js'
import { bytesToText } from './fields.js'
import { dictEntries, findEntry, kindName, rawBytes, rawInt, rawKind, type RawEntry } from './raw-dict.js'
import { copyBytes } from '../util/copy-bytes.js'

/** BEP 52: `pieces root` is a SHA2-256 digest. */
export const PIECES_ROOT_LENGTH = 32

/** One file of the tree, in tree order. */
export interface FileTreeEntry {
  /** Path components below the tree's root, as text (U+FFFD for bytes that are not UTF-8). */
  readonly components: readonly string[]
  readonly length: number
  /** Undefined for an empty file. */
  readonly piecesRoot: Uint8Array | undefined
}

/** The files of `info.file tree` in the order they stand in the bytes. `infoBytes` is scanned. */
export function parseFileTree (infoBytes: Uint8Array, infoEntries: readonly RawEntry[]): FileTreeEntry[] {
  const tree = findEntry(infoEntries, 'file tree')
  if (tree === undefined) throw new MetainfoError('info.file tree is missing (BEP 52 requires it with meta version 2)')
  const kind = rawKind(infoBytes, tree.start)
  if (kind !== 'dict') throw new MetainfoError(`info.file tree must be a dictionary, found ${kindName(kind)}`)
  const out: FileTreeEntry[] = []
  walk(infoBytes, tree.start, [], out)
  if (out.length === 0) throw new MetainfoError('info.file tree holds no files')
  return out
}

function walk (bytes: Uint8Array, start: number, prefix: readonly string[], out: FileTreeEntry[]): void {
  const entries = dictEntries(bytes, start)
  const where = `info.file tree${prefix.map(p => '/' + p).join('')}`
  const self = entries.find(e => e.key.length === 0)
  if (self !== undefined) {
    if (prefix.length === 0) throw new MetainfoError('info.file tree: the root must not be a file (BEP 52)')
    if (entries.length !== 1) throw new MetainfoError(`${where}: a file entry ("") must have no sibling entries (BEP 52)`)
    out.push(fileEntry(bytes, self, where, prefix))
    return
  }
  for (const e of entries) {
    const name = bytesToText(e.key)
    const kind = rawKind(bytes, e.start)
    if (kind !== 'dict') throw new MetainfoError(`${where}/${name} must be a dictionary, found ${kindName(kind)}`)
    walk(bytes, e.start, [...prefix, name], out)
  }
}

function fileEntry (bytes: Uint8Array, self: RawEntry, where: string, components: readonly string[]): FileTreeEntry {
  const kind = rawKind(bytes, self.start)
  if (kind !== 'dict') throw new MetainfoError(`${where}."" must be a dictionary, found ${kindName(kind)}`)
  const props = dictEntries(bytes, self.start)
  const lengthEntry = findEntry(props, 'length')
  if (lengthEntry === undefined) throw new MetainfoError(`${where}: file has no length`)
  const lk = rawKind(bytes, lengthEntry.start)
  if (lk !== 'int') throw new MetainfoError(`${where}.length must be an integer, found ${kindName(lk)}`)
  const length = rawInt(bytes, lengthEntry, `${where}.length`)
  if (length < 0) throw new MetainfoError(`${where}.length must not be negative, found ${length}`)
  if (length === 0) return { components, length, piecesRoot: undefined }
  const rootEntry = findEntry(props, 'pieces root')
  if (rootEntry === undefined) throw new MetainfoError(`${where}: a file of ${length} bytes needs a pieces root (BEP 52)`)
  const rk = rawKind(bytes, rootEntry.start)
  if (rk !== 'bytes') throw new MetainfoError(`${where}.pieces root must be a byte string, found ${kindName(rk)}`)
  const piecesRoot = rawBytes(bytes, rootEntry)
  if (piecesRoot.length !== PIECES_ROOT_LENGTH) throw new MetainfoError(`${where}.pieces root must be ${PIECES_ROOT_LENGTH} bytes, found ${piecesRoot.length}`)
  return { components, length, piecesRoot: copyBytes(piecesRoot) }
}
