import { dictGet, isDict, type BencodeDict, type BencodeValue } from '../bencode/decode.js'
import { MetainfoError } from '../util/errors.js'

/**
 * Typed reads of decoded metainfo fields. Each error names the field by its full path
 * (`info.files[3].length`) so a user can find what is wrong in their .torrent.
 */

const utf8 = new TextDecoder('utf-8')

function typeName (v: BencodeValue): string {
  if (typeof v === 'number') return 'an integer'
  if (v instanceof Uint8Array) return 'a byte string'
  return Array.isArray(v) ? 'a list' : 'a dictionary'
}

function wrong (where: string, expected: string, v: BencodeValue): never {
  throw new MetainfoError(`${where} must be ${expected}, found ${typeName(v)}`)
}

export function optDict (d: BencodeDict, key: string, where: string): BencodeDict | undefined {
  const v = dictGet(d, key)
  if (v === undefined) return undefined
  return isDict(v) ? v : wrong(where, 'a dictionary', v)
}

export function optList (d: BencodeDict, key: string, where: string): BencodeValue[] | undefined {
  const v = dictGet(d, key)
  if (v === undefined) return undefined
  return Array.isArray(v) ? v : wrong(where, 'a list', v)
}

export function optBytes (d: BencodeDict, key: string, where: string): Uint8Array | undefined {
  const v = dictGet(d, key)
  if (v === undefined) return undefined
  return v instanceof Uint8Array ? v : wrong(where, 'a byte string', v)
}

export function optInt (d: BencodeDict, key: string, where: string): number | undefined {
  const v = dictGet(d, key)
  if (v === undefined) return undefined
  if (typeof v !== 'number') return wrong(where, 'an integer', v)
  if (!Number.isSafeInteger(v)) throw new MetainfoError(`${where} is too large (${v})`)
  return v
}

/** Text fields: UTF-8, with U+FFFD for bytes that are not (legacy encodings in old torrents). */
export function bytesToText (b: Uint8Array): string {
  return utf8.decode(b)
}

export function optText (d: BencodeDict, key: string, where: string): string | undefined {
  const b = optBytes(d, key, where)
  return b === undefined ? undefined : bytesToText(b)
}

/** `key.utf-8` when present (BEP 3 extension used by many clients), else `key`. */
export function optTextPreferUtf8 (d: BencodeDict, key: string, where: string): string | undefined {
  return optText(d, `${key}.utf-8`, `${where}.utf-8`) ?? optText(d, key, where)
}

export function required<T> (v: T | undefined, where: string): T {
  if (v === undefined) throw new MetainfoError(`${where} is missing`)
  return v
}

/** A list whose every element is a byte string, as text. */
export function textList (list: readonly BencodeValue[], where: string): string[] {
  return list.map((v, i) => v instanceof Uint8Array ? bytesToText(v) : wrong(`${where}[${i}]`, 'a byte string', v))
}
