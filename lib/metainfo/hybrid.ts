import { dictGet, isDict, type BencodeDict } from '../bencode/decode.js'
import { MetainfoError } from '../util/errors.js'
import type { TorrentFile } from './types.js'

/**
 * A hybrid torrent (BEP 52) describes the same files twice: the v1 `files` list and the v2
 * `file tree`:
 *   file tree: { dir: { name.ext: { "": { length: <int>, pieces root: <32 bytes> } } } }
 * If the two disagree, v1 and v2 peers would be in different swarms for different content, so a
 * client using the v1 half must check they match. Compared as sets of (path, length): the
 * bencode library yields dicts as JS objects, which reorder integer-like keys, so the tree's
 * order cannot be trusted to survive decoding.
 */
export function checkHybridConsistent (info: BencodeDict, files: readonly TorrentFile[], multiFile: boolean): void {
  const tree = dictGet(info, 'file tree')
  if (tree === undefined || !isDict(tree)) throw new MetainfoError('info.file tree must be a dictionary in a hybrid torrent')
  const v2: string[] = []
  const stack: [BencodeDict, string[]][] = [[tree, []]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [dir, prefix] = next
    for (const name of Object.keys(dir)) {
      const entry = dir[name]
      const where = `info.file tree/${[...prefix, name].join('/')}`
      if (entry === undefined || !isDict(entry)) throw new MetainfoError(`${where} must be a dictionary`)
      if (name === '') {
        const length = dictGet(entry, 'length')
        if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) throw new MetainfoError(`${where}.length must be a non-negative integer`)
        if (prefix.length === 0) throw new MetainfoError('info.file tree: the root must not be a file (BEP 52)')
        v2.push(key(prefix, length))
      } else {
        stack.push([entry, [...prefix, name]])
      }
    }
  }
  const v1 = files.filter(f => !f.padding).map(f => key(multiFile ? f.rawPath.slice(1) : f.rawPath, f.length))
  v1.sort()
  v2.sort()
  const i = v1.findIndex((k, j) => k !== v2[j])
  if (i !== -1 || v1.length !== v2.length) {
    const at = i === -1 ? Math.min(v1.length, v2.length) : i
    throw new MetainfoError(`hybrid torrent: the v1 file list and the v2 file tree disagree (v1 has ${show(v1[at])}, v2 has ${show(v2[at])})`)
  }
}

function key (path: readonly string[], length: number): string {
  return `${path.join('/')}\u0000${length}`
}

function show (k: string | undefined): string {
  if (k === undefined) return 'nothing more'
  const [path, length] = k.split('\u0000')
  return `"${path ?? ''}" of ${length ?? '?'} bytes`
}
