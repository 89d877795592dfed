import { randomBytes } from 'node:crypto'

/**
 * Peer ids. Ours is Azureus style, `-bs0100-` + 12 random bytes: `bs` is bt-stream's client code
 * and `0100` its version 0.1.0.0, so other clients (and our own decoder) can name us. `BS` (upper
 * case) is BTSlave's in BEP 20, libtorrent and Transmission; `bs` is in none of their lists
 * (test/wire/handshake.test.ts checks it against them), and the codes are case-sensitive there.
 */
export const CLIENT_CODE = 'bs'
export const CLIENT_VERSION = '0100'
export const PEER_ID_PREFIX = `-${CLIENT_CODE}${CLIENT_VERSION}-`
/** What we put in BEP 10's `v`. */
export const CLIENT_NAME = 'bt-stream 0.1.0'

/** A fresh peer id: the prefix, then random printable bytes (some trackers log ids as text). */
export function generatePeerId (): Uint8Array {
  const id = new Uint8Array(20)
  id.set(new TextEncoder().encode(PEER_ID_PREFIX))
  const rnd = randomBytes(20 - PEER_ID_PREFIX.length)
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
  for (let i = 0; i < rnd.length; i++) id[PEER_ID_PREFIX.length + i] = alphabet.charCodeAt((rnd[i] as number) % alphabet.length)
  return id
}

/** Azureus-style two-letter codes (the `XX` of `-XX1234-`) that are common in swarms. */
const AZUREUS: Record<string, string> = {
  AG: 'Ares',
  AZ: 'Vuze',
  BC: 'BitComet',
  BI: 'BiglyBT',
  BS: 'BTSlave',
  BT: 'BitTorrent',
  DE: 'Deluge',
  FD: 'Free Download Manager',
  FW: 'FrostWire',
  KT: 'KTorrent',
  LT: 'libtorrent (Rasterbar)',
  lt: 'libTorrent (Rakshasa)',
  PI: 'PicoTorrent',
  qB: 'qBittorrent',
  TL: 'Tribler',
  TR: 'Transmission',
  UM: 'µTorrent for Mac',
  UT: 'µTorrent',
  UW: 'µTorrent Web',
  WD: 'WebTorrent Desktop',
  WW: 'WebTorrent',
  XL: 'Xunlei',
  bs: 'bt-stream'
}

/** Shadow-style one-letter codes (`S58B-----...`). */
const SHADOW: Record<string, string> = {
  A: 'ABC',
  O: 'Osprey Permaseed',
  Q: 'BTQueue',
  R: 'Tribler',
  S: 'Shadow',
  T: 'BitTornado',
  U: 'UPnP NAT Bit Torrent'
}

export interface ClientInfo {
  readonly name: string
  readonly version: string
  readonly style: 'azureus' | 'shadow' | 'mainline'
}

/**
 * Names the client a peer id announces, or undefined when it follows no style we know.
 *   Azureus: `-XXVVVV-...`   two-letter code, four version characters
 *   Shadow:  `CVVV--...`     one letter, version characters (0-9, A-Z = 10-35, a-z = 36-61,
 *                            '.' = 62) up to the first '-'
 *   Mainline: `M4-3-6--...`  version digits separated by dashes
 */
export function clientFromPeerId (peerId: Uint8Array): ClientInfo | undefined {
  if (peerId.length !== 20) return undefined
  const text = String.fromCharCode(...peerId.subarray(0, 9))
  const az = /^-([A-Za-z0-9~]{2})([0-9A-Za-z]{4})-/.exec(text)
  if (az !== null) {
    const code = az[1] as string
    const name = AZUREUS[code] ?? `unknown client "${code}"`
    return { name, version: azureusVersion(az[2] as string), style: 'azureus' }
  }
  const mainline = /^M(\d)-(\d{1,2})-(\d{1,2})-/.exec(text)
  if (mainline !== null) {
    return { name: 'Mainline', version: `${mainline[1]}.${mainline[2]}.${mainline[3]}`, style: 'mainline' }
  }
  const shadowName = SHADOW[text[0] ?? '']
  if (shadowName !== undefined) {
    const digits: number[] = []
    for (let i = 1; i < 5; i++) {
      const c = text[i] ?? '-'
      if (c === '-') break
      const v = shadowDigit(c)
      if (v === undefined) return undefined
      digits.push(v)
    }
    // Shadow ids pad the version with dashes up to byte 5 at least; random ids almost never do.
    if (digits.length === 0 || text.slice(1 + digits.length, 6) !== '-'.repeat(5 - digits.length)) return undefined
    return { name: shadowName, version: digits.join('.'), style: 'shadow' }
  }
  return undefined
}

/** `4650` → `4.6.5.0`, `355W` → `3.5.5.W`: one component per character, as most clients mean it. */
function azureusVersion (v: string): string {
  return v.split('').join('.')
}

function shadowDigit (c: string): number | undefined {
  const code = c.charCodeAt(0)
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 90) return code - 65 + 10
  if (code >= 97 && code <= 122) return code - 97 + 36
  if (c === '.') return 62
  return undefined
}
