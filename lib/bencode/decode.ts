import bencode from 'bencode'
import { BencodeError } from '../util/errors.js'
import { scanBencode, type DictEntrySpan } from './scan.js'

/** What the `bencode` library yields when decoding without a text encoding. */
export type BencodeValue = number | Uint8Array | BencodeValue[] | BencodeDict
export interface BencodeDict { [key: string]: BencodeValue }

export interface Decoded {
  readonly value: BencodeValue
  /** Bytes consumed: the value spans [0, length) of the input. */
  readonly length: number
  /** Top-level dictionary entries with their raw byte spans (see scanBencode). */
  readonly entries?: readonly DictEntrySpan[]
}

/**
 * Decodes one bencoded value with the `bencode` library after scanBencode has proved the bytes
 * safe for it. The library copies its input on every call, so it is called once per value.
 */
export function decodeBencode (bytes: Uint8Array): BencodeValue {
  return decodeBencodeDetailed(bytes, false).value
}

/** Like decodeBencode, but a value followed by other bytes is fine (BEP 9 `piece` messages). */
export function decodeBencodePrefix (bytes: Uint8Array): Decoded {
  return decodeBencodeDetailed(bytes, true)
}

export function decodeBencodeDetailed (bytes: Uint8Array, allowTrailing: boolean): Decoded {
  const scan = scanBencode(bytes, allowTrailing)
  const own = scan.end === bytes.length ? bytes : bytes.subarray(0, scan.end)
  let value: unknown
  try {
    value = bencode.decode(own)
  } catch (err) {
    // Unreachable after the scan unless the library changes; still never a raw exception.
    const position = (bencode.decode as unknown as { position?: number }).position
    throw new BencodeError(`invalid bencoding${position === undefined ? '' : ` near byte ${position}`}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  return scan.entries === undefined ? { value: value as BencodeValue, length: scan.end } : { value: value as BencodeValue, length: scan.end, entries: scan.entries }
}

export function isDict (v: BencodeValue | undefined): v is BencodeDict {
  return typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v)
}

/** An own entry of a decoded dict: never something inherited like `constructor`. */
export function dictGet (dict: BencodeDict, key: string): BencodeValue | undefined {
  return Object.hasOwn(dict, key) ? dict[key] : undefined
}
