/**
 * Reading bencoded dictionaries as they stand in the bytes, keys as raw bytes and in file order.
 *
 * The `bencode` package yields dicts as JS objects: keys become text (hex when not UTF-8) and
 * integer-like keys move to the front. BEP 52 needs both things it loses: `file tree` keys are
 * path components whose order is the files' order in the piece address space, and `piece layers`
 * keys are 32-byte binary hashes. So those two are walked here, over bytes that scanBencode
 * (lib/bencode/scan.ts) has already proved well-formed, bounded in depth and free of duplicate
 * keys: no check of the grammar is repeated, only what the walk needs.
 */
import { MetainfoError } from '../util/errors.js'

const D = 0x64 // 'd'
const L = 0x6c // 'l'
const I = 0x69 // 'i'
const E = 0x65 // 'e'
const COLON = 0x3a

export type RawKind = 'dict' | 'list' | 'int' | 'bytes'

/** One `key: value` of a dictionary: the key's bytes, and where the value lies. */
export interface RawEntry {
  readonly key: Uint8Array
  readonly start: number
  readonly end: number
}

export function rawKind (bytes: Uint8Array, start: number): RawKind {
  const b = bytes[start]
  if (b === D) return 'dict'
  if (b === L) return 'list'
  if (b === I) return 'int'
  return 'bytes'
}

/** Reads `<len>:` at `start`; returns the string's [start, end). */
function stringSpan (bytes: Uint8Array, start: number): [number, number] {
  let pos = start
  let length = 0
  while (pos < bytes.length && bytes[pos] !== COLON) length = length * 10 + (bytes[pos++] as number) - 0x30
  const end = pos + 1 + length
  if (end > bytes.length) throw notScanned()
  return [pos + 1, end]
}

/** Only reached when a caller skipped scanBencode: still an error, never a loop past the end. */
function notScanned (): MetainfoError {
  return new MetainfoError('invalid bencoding (the value runs past the end of the data)')
}

/** Offset just past the value starting at `start` (iterative: nesting costs no stack). */
export function valueEnd (bytes: Uint8Array, start: number): number {
  let depth = 0
  let pos = start
  do {
    if (pos >= bytes.length) throw notScanned()
    const b = bytes[pos]
    if (b === D || b === L) { depth++; pos++ } else if (b === E) { depth--; pos++ } else if (b === I) {
      while (pos < bytes.length && bytes[pos] !== E) pos++
      pos++
    } else pos = stringSpan(bytes, pos)[1]
  } while (depth > 0)
  return pos
}

/** The entries of the dictionary starting at `start`, in file order. */
export function dictEntries (bytes: Uint8Array, start: number): RawEntry[] {
  if (bytes[start] !== D) throw new RangeError('not a dictionary')
  const out: RawEntry[] = []
  let pos = start + 1
  while (bytes[pos] !== E) {
    if (pos >= bytes.length) throw notScanned()
    const [ks, ke] = stringSpan(bytes, pos)
    const end = valueEnd(bytes, ke)
    out.push({ key: bytes.subarray(ks, ke), start: ke, end })
    pos = end
  }
  return out
}

export function rawBytes (bytes: Uint8Array, entry: { start: number }): Uint8Array {
  const [s, e] = stringSpan(bytes, entry.start)
  return bytes.subarray(s, e)
}

/** An integer value; `where` names it in the error when it is not a safe integer. */
export function rawInt (bytes: Uint8Array, entry: { start: number, end: number }, where: string): number {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + entry.start + 1, entry.end - entry.start - 2).toString('latin1')
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new MetainfoError(`${where} is too large (${text})`)
  return n
}

/** Finds an entry by its text key (keys we look up are ASCII). */
export function findEntry (entries: readonly RawEntry[], key: string): RawEntry | undefined {
  const k = Buffer.from(key, 'latin1')
  return entries.find(e => k.equals(e.key))
}

export function kindName (k: RawKind): string {
  return k === 'int' ? 'an integer' : k === 'bytes' ? 'a byte string' : k === 'list' ? 'a list' : 'a dictionary'
}
