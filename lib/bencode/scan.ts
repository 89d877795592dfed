import { BencodeError } from '../util/errors.js'

/**
 * A bounded, iterative structural check of bencoded bytes, run before the `bencode` library sees
 * them. The library (v4) trusts its input and has holes on hostile data:
 * - a negative string length (`l-3:e`) moves its cursor backwards: an endless loop that grows a list;
 * - a string length past the end (`99999999999:`) silently yields a short string;
 * - nesting recurses, so `llll…` thousands deep overflows the stack;
 * - `i1.5e`, `i+3e`, `ie` decode to numbers instead of failing; trailing bytes are ignored;
 * - a dict key `__proto__` replaces the object's prototype instead of adding a key, and a
 *   repeated key silently overwrites the earlier value.
 * This scan rejects all of that with the byte position, in one pass and constant stack, and
 * reports where each top-level dict value lies so callers can hash the exact bytes of `info`.
 *
 * Accepted grammar (BEP 3): `<len>:<bytes>` with len all digits; `i<int>e` with no leading zero
 * and no `-0`; `l…e`; `d…e` with byte-string keys. Unsorted keys are accepted (real torrents have
 * them and the info hash must still be that of the bytes as they stand); duplicate keys are not.
 */

/** Deep enough for any real torrent (a v2 file tree nests one dict per directory). */
export const MAX_DEPTH = 256
/** 15 digits already exceed any buffer we could hold; longer lengths are certainly hostile. */
const MAX_LENGTH_DIGITS = 15 // also keeps the running value exact (< 2^53)

const D = 0x64 // 'd'
const L = 0x6c // 'l'
const I = 0x69 // 'i'
const E = 0x65 // 'e'
const COLON = 0x3a
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39

/** Where one entry of the top-level dictionary lies: the value spans [start, end). */
export interface DictEntrySpan {
  readonly key: string
  readonly start: number
  readonly end: number
}

export interface ScanResult {
  /** Offset just past the first complete value. */
  readonly end: number
  /** Entries of the top-level value when it is a dictionary, in file order; else undefined. */
  readonly entries?: readonly DictEntrySpan[]
}

interface Frame {
  readonly dict: boolean
  /** Key names as the bencode library will name them, for the duplicate check. */
  readonly keys?: Set<string>
  /** In a dict: the key of the value being scanned, undefined while a key is expected. */
  pendingKey?: string
  pendingStart?: number
}

// Must match the library's own key naming (uint8-util arr2text: a default, non-fatal decoder).
const keyDecoder = new TextDecoder()

/** The name the bencode library gives a dict key: its UTF-8 text, or hex when that is lossy. */
function libraryKeyName (bytes: Uint8Array): string {
  const text = keyDecoder.decode(bytes)
  return text.includes('\uFFFD') ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') : text
}

/**
 * Checks that `bytes` starts with one well-formed bencoded value. Unless `allowTrailing`, that
 * value must also end the input (BEP 9 metadata messages carry raw bytes after their dict).
 */
export function scanBencode (bytes: Uint8Array, allowTrailing = false): ScanResult {
  const n = bytes.length
  if (n === 0) throw new BencodeError('empty input: expected a bencoded value')
  const stack: Frame[] = []
  const entries: DictEntrySpan[] = []
  let topIsDict = false
  let pos = 0

  const fail = (what: string, at: number): never => { throw new BencodeError(`invalid bencoding at byte ${at}: ${what}`) }

  /** Reads `<len>:` at pos; returns the string's [start, end). */
  const stringSpan = (): [number, number] => {
    const lenStart = pos
    let length = 0
    while (pos < n && (bytes[pos] as number) >= ZERO && (bytes[pos] as number) <= NINE) length = length * 10 + (bytes[pos++] as number) - ZERO
    if (pos === n) fail('data ends inside a string length (truncated?)', lenStart)
    if (bytes[pos] !== COLON) fail(`expected a digit or ':' in a string length, found ${describe(bytes[pos])}`, pos)
    const digits = pos - lenStart
    if (digits === 0) fail(`expected a value, found ${describe(bytes[pos])}`, pos)
    if (digits > MAX_LENGTH_DIGITS) fail(`string length has ${digits} digits`, lenStart)
    const start = pos + 1
    if (length > n - start) fail(`string of length ${length} runs past the end of the data (${n - start} bytes left)`, lenStart)
    pos = start + length
    return [start, pos]
  }

  const integer = (): void => {
    const start = pos
    pos++ // 'i'
    if (bytes[pos] === MINUS) pos++
    const first = pos
    while (pos < n && (bytes[pos] as number) >= ZERO && (bytes[pos] as number) <= NINE) pos++
    if (pos === n) fail('data ends inside an integer (truncated?)', start)
    if (bytes[pos] !== E) fail(`expected a digit or 'e' in an integer, found ${describe(bytes[pos])}`, pos)
    if (pos === first) fail('integer has no digits', start)
    if (bytes[first] === ZERO && (pos - first > 1 || first > start + 1)) fail('integer has a leading zero or is -0 (BEP 3)', start)
    pos++
  }

  for (;;) {
    const top = stack[stack.length - 1]
    if (top !== undefined && top.dict && top.pendingKey === undefined) {
      if (pos >= n) fail('data ends inside a dictionary (truncated?)', pos)
      if (bytes[pos] === E) {
        pos++
        stack.pop()
        if (valueDone()) break
        continue
      }
      const at = pos
      if ((bytes[pos] as number) < ZERO || (bytes[pos] as number) > NINE) fail(`dictionary key must be a byte string, found ${describe(bytes[pos])}`, pos)
      const [ks, ke] = stringSpan()
      const name = libraryKeyName(bytes.subarray(ks, ke))
      if (name === '__proto__') fail('dictionary key "__proto__" is not supported', at)
      if (top.keys?.has(name) === true) fail(`duplicate dictionary key "${name}"`, at)
      top.keys?.add(name)
      top.pendingKey = name
      top.pendingStart = pos
    }
    if (pos >= n) fail(top === undefined ? 'expected a value' : `data ends inside a ${top.dict ? 'dictionary' : 'list'} (truncated?)`, pos)
    const b = bytes[pos] as number
    if (b === D || b === L) {
      if (stack.length >= MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`, pos)
      if (stack.length === 0 && b === D) topIsDict = true
      stack.push(b === D ? { dict: true, keys: new Set() } : { dict: false })
      pos++
      continue
    }
    if (b === E && top !== undefined && !top.dict) {
      pos++
      stack.pop()
      if (valueDone()) break
      continue
    }
    if (b === I) integer()
    else if (b >= ZERO && b <= NINE) stringSpan()
    else fail(`expected a value, found ${describe(b)}`, pos)
    if (valueDone()) break
  }

  if (!allowTrailing && pos !== n) fail(`${n - pos} bytes of trailing data after the value`, pos)
  return topIsDict ? { end: pos, entries } : { end: pos }

  /** Bookkeeping after a complete value at the current level; true when the top value is done. */
  function valueDone (): boolean {
    const parent = stack[stack.length - 1]
    if (parent === undefined) return true
    if (parent.dict) {
      if (stack.length === 1 && parent.pendingKey !== undefined) {
        entries.push({ key: parent.pendingKey, start: parent.pendingStart as number, end: pos })
      }
      parent.pendingKey = undefined
    }
    return false
  }
}

function describe (b: number | undefined): string {
  if (b === undefined) return 'the end of the data'
  return b >= 0x21 && b <= 0x7e ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`
}
