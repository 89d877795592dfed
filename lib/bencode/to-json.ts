import type { BencodeValue } from './decode.js'

/**
 * A JSON view of a decoded bencoded value for `bt-stream decode` (to pipe into jq):
 * integers are numbers, lists arrays, dicts objects; a byte string is a JSON string when it is
 * valid UTF-8 and `{"hex": "..."}` otherwise. Under a `pieces` key, a string of 20-byte SHA-1
 * digests becomes `{"hex": [one 40-digit string per piece]}` so piece N is `.pieces.hex[N]`.
 * Dict keys are named as the bencode library names them: their text, or hex when not UTF-8.
 */
export type JsonValue = number | string | JsonValue[] | { [key: string]: JsonValue }

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function bencodeToJson (v: BencodeValue, key?: string): JsonValue {
  if (typeof v === 'number') return v
  if (v instanceof Uint8Array) {
    if (key === 'pieces' && v.length % 20 === 0) return { hex: splitHashes(v) }
    try {
      return strictUtf8.decode(v)
    } catch {
      return { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') }
    }
  }
  if (Array.isArray(v)) return v.map(e => bencodeToJson(e))
  const out: { [key: string]: JsonValue } = {}
  for (const k of Object.keys(v)) out[k] = bencodeToJson(v[k] as BencodeValue, k)
  return out
}

function splitHashes (v: Uint8Array): string[] {
  const hex = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
  const out: string[] = []
  for (let i = 0; i < hex.length; i += 40) out.push(hex.slice(i, i + 40))
  return out
}
