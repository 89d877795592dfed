/**
 * A bencoder for what we write ourselves (BEP 52 torrents): dictionaries are lists of entries
 * whose keys may be binary (`piece layers` is keyed by 32-byte hashes) and are written sorted by
 * their raw bytes, as BEP 3 asks. The `bencode` package takes JS objects: text keys only, sorted
 * by UTF-16 code units, which is not byte order for every name a file tree may hold.
 */

export type CanonicalValue = number | string | Uint8Array | readonly CanonicalValue[] | CanonicalDict

export interface CanonicalDict {
  readonly entries: readonly (readonly [string | Uint8Array, CanonicalValue])[]
}

export function cdict (entries: readonly (readonly [string | Uint8Array, CanonicalValue])[]): CanonicalDict {
  return { entries }
}

const asBytes = (k: string | Uint8Array): Buffer => typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k.buffer, k.byteOffset, k.byteLength)

export function encodeCanonical (value: CanonicalValue): Buffer {
  const parts: Buffer[] = []
  write(value, parts)
  return Buffer.concat(parts)
}

function write (v: CanonicalValue, out: Buffer[]): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`cannot bencode ${v}`)
    out.push(Buffer.from(`i${v}e`))
  } else if (typeof v === 'string' || v instanceof Uint8Array) {
    const b = asBytes(v)
    out.push(Buffer.from(`${b.length}:`), b)
  } else if (Array.isArray(v)) {
    out.push(Buffer.from('l'))
    for (const x of v as readonly CanonicalValue[]) write(x, out)
    out.push(Buffer.from('e'))
  } else {
    const entries = [...(v as CanonicalDict).entries].map(([k, x]) => [asBytes(k), x] as const)
    entries.sort((a, b) => Buffer.compare(a[0], b[0]))
    for (let i = 1; i < entries.length; i++) {
      if ((entries[i - 1] as readonly [Buffer, CanonicalValue])[0].equals((entries[i] as readonly [Buffer, CanonicalValue])[0])) throw new RangeError('duplicate dictionary key')
    }
    out.push(Buffer.from('d'))
    for (const [k, x] of entries) {
      out.push(Buffer.from(`${k.length}:`), k)
      write(x, out)
    }
    out.push(Buffer.from('e'))
  }
}
