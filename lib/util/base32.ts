/** RFC 4648 base32 (A-Z, 2-7), case-insensitive, no padding: old magnets' info hashes (BEP 9). */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Decodes base32 text; undefined when a character is outside the alphabet. */
export function decodeBase32 (text: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor(text.length * 5 / 8))
  let bits = 0
  let value = 0
  let o = 0
  for (const ch of text.toUpperCase()) {
    const v = ALPHABET.indexOf(ch)
    if (v === -1) return undefined
    value = (value << 5) | v
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[o++] = (value >>> bits) & 0xff
    }
  }
  return out
}
