import type { BencodeDict } from '../bencode/decode.js'
import { isDict } from '../bencode/decode.js'
import { MetainfoError } from '../util/errors.js'
import { optBytes, optInt, optList, optText, required, textList } from './fields.js'
import { checkNoCollisions, safeComponent, safeRelativePath } from './safe-path.js'
import type { TorrentFile } from './types.js'

/**
 * The files of a v1 info dict (BEP 3), laid end to end in the torrent's byte stream:
 *   single file:  info = { name, length, ... }
 *   multi file:   info = { name, files: [ { length, path: [dir, ..., file], attr? }, ... ], ... }
 * `path.utf-8` is preferred over `path`. BEP 47: `attr` containing 'p' marks a padding file,
 * whose `path` may be absent.
 */
export function parseFiles (info: BencodeDict, name: string): { files: TorrentFile[], multiFile: boolean, length: number } {
  const list = optList(info, 'files', 'info.files')
  const single = optInt(info, 'length', 'info.length')
  if (list !== undefined && single !== undefined) throw new MetainfoError('info has both "length" (single file) and "files" (multi file)')
  if (list === undefined) {
    const length = required(single, 'info.length (or info.files)')
    if (length < 0) throw new MetainfoError(`info.length must not be negative, found ${length}`)
    const rawPath = [name]
    const file: TorrentFile = { rawPath, path: safeRelativePath(rawPath, 'info.name'), length, offset: 0, padding: isPadding(info, 'info.attr') }
    return { files: [file], multiFile: false, length }
  }
  if (list.length === 0) throw new MetainfoError('info.files is empty')

  const root = safeComponent(name, 'info.name')
  const files: TorrentFile[] = []
  let offset = 0
  for (let i = 0; i < list.length; i++) {
    const where = `info.files[${i}]`
    const entry = list[i]
    if (entry === undefined || !isDict(entry)) throw new MetainfoError(`${where} must be a dictionary`)
    const length = required(optInt(entry, 'length', `${where}.length`), `${where}.length`)
    if (length < 0) throw new MetainfoError(`${where}.length must not be negative, found ${length}`)
    const padding = isPadding(entry, `${where}.attr`)
    const pathList = optList(entry, 'path.utf-8', `${where}.path.utf-8`) ?? optList(entry, 'path', `${where}.path`)
    let components: string[]
    if (pathList !== undefined) components = textList(pathList, `${where}.path`)
    else if (padding) components = ['.pad', String(length)]
    else throw new MetainfoError(`${where}.path is missing`)
    const rawPath = [name, ...components]
    // The torrent name is the root directory (dropped when empty); the file's own components
    // must still name something below it.
    const own = safeRelativePath(components, `${where} (${JSON.stringify(components.join('/'))})`)
    const path = root === undefined ? own : `${root}/${own}`
    files.push({ rawPath, path, length, offset, padding })
    offset += length
    if (!Number.isSafeInteger(offset)) throw new MetainfoError('info.files: total length is too large')
  }
  checkNoCollisions(files.flatMap((f, i) => f.padding ? [] : [{ path: f.path, where: `info.files[${i}]` }]))
  return { files, multiFile: true, length: offset }
}

function isPadding (d: BencodeDict, where: string): boolean {
  if (optBytes(d, 'attr', where) === undefined) return false
  return (optText(d, 'attr', where) as string).includes('p')
}
