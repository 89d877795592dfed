import { randomBytes, randomInt } from 'node:crypto'
import { MseError } from './errors.js'
import { DH_KEY_LENGTH, DhKeyPair, sha1 } from './dh.js'
import type { HandshakeReader } from './handshake-reader.js'
import { MSE_RC4_DISCARD, RC4 } from './rc4.js'

/**
 * The MSE/PE handshake (Message Stream Encryption, the Vuze/µTorrent de facto spec), both roles,
 * as two async functions over a HandshakeReader (bytes in) and a `send` (bytes out):
 *
 *   1 A->B  Ya, PadA
 *   2 B->A  Yb, PadB
 *   3 A->B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A  ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload ...)
 *   5 A->B  ENCRYPT2(payload ...)
 *
 * Y: 96-byte DH public keys; S: the shared secret; SKEY: the info hash; HASH: SHA-1; VC: 8 zero
 * bytes; ENCRYPT: RC4 keyed HASH('keyA', S, SKEY) from A, HASH('keyB', S, SKEY) from B, the first
 * 1024 keystream bytes dropped; ENCRYPT2: the method B selected (RC4 continues the same streams,
 * plaintext drops them). IA, the initiator's first payload bytes (its BitTorrent handshake), is
 * always RC4, so the handshake costs one round trip more than plaintext, not two.
 *
 * Each side finds the other's next field past random padding: B looks for HASH('req1', S) within
 * 512 bytes after Ya, A for ENCRYPT(VC) within 512 bytes after Yb. Any violation is a
 * ProtocolError and costs that connection only; the owner bounds the whole exchange in time.
 */
export const CRYPTO_PLAINTEXT = 0x01
export const CRYPTO_RC4 = 0x02
/** PadA..PadD: the spec's 0..512 bytes, so the other side's sync window. */
export const MAX_PADDING = 512
const VC = new Uint8Array(8)
/** The spec caps IA only by its 2-byte length; every client puts a 68-byte handshake there. */
export const MAX_INITIAL_PAYLOAD = 0xffff
const ASCII = new TextEncoder()
const REQ1 = ASCII.encode('req1')
const REQ2 = ASCII.encode('req2')
const REQ3 = ASCII.encode('req3')
const KEY_A = ASCII.encode('keyA')
const KEY_B = ASCII.encode('keyB')
const SKEY_LENGTH = 20

/** What a finished handshake hands the encrypted stream. */
export interface MseResult {
  /** The method B selected. */
  readonly method: typeof CRYPTO_PLAINTEXT | typeof CRYPTO_RC4
  /** SKEY: the info hash the connection is for. */
  readonly infoHash: Uint8Array
  /** RC4 streams positioned after the handshake; undefined when plaintext was selected. */
  readonly encrypt: RC4 | undefined
  readonly decrypt: RC4 | undefined
  /** Responder: the initiator's IA, decrypted (its BitTorrent handshake, in practice). */
  readonly initialPayload: Uint8Array
}

export interface MseIO {
  readonly reader: HandshakeReader
  readonly send: (bytes: Uint8Array) => void
}

export interface InitiatorOptions {
  readonly infoHash: Uint8Array
  /** CRYPTO_PLAINTEXT | CRYPTO_RC4 bits we accept. */
  readonly provide: number
  /** Called when step 3 goes out: the IA (at most MAX_INITIAL_PAYLOAD bytes). */
  readonly initialPayload: () => Uint8Array
  /** Tests: our padding lengths (default random 0..512 for PadA, 0 for PadC). */
  readonly padding?: { readonly a?: number }
}

export interface ResponderOptions {
  /** The torrent whose HASH('req2', info hash) this is, or undefined (not ours). */
  readonly findSkey: (req2: Uint8Array) => Uint8Array | undefined
  /** Picks one method of what the initiator provides; 0 refuses. */
  readonly select: (provide: number) => number
  /** Tests: our PadB length (default random 0..512). */
  readonly padding?: { readonly b?: number }
}

/** HASH('req2', SKEY): what a responder looks an info hash up by. */
export function skeyHash (infoHash: Uint8Array): Uint8Array {
  return sha1(REQ2, infoHash)
}

export async function initiateMse (io: MseIO, opts: InitiatorOptions): Promise<MseResult> {
  const { reader, send } = io
  if (opts.infoHash.length !== SKEY_LENGTH) throw new RangeError('SKEY (info hash) must be 20 bytes')
  const keys = new DhKeyPair()
  send(concat(keys.publicKey, randomBytes(opts.padding?.a ?? randomInt(MAX_PADDING + 1))))

  const s = keys.secret(await reader.read(DH_KEY_LENGTH))
  const encrypt = new RC4(sha1(KEY_A, s, opts.infoHash), MSE_RC4_DISCARD)
  const decrypt = new RC4(sha1(KEY_B, s, opts.infoHash), MSE_RC4_DISCARD)

  const ia = opts.initialPayload()
  if (ia.length > MAX_INITIAL_PAYLOAD) throw new RangeError(`IA of ${ia.length} bytes`)
  // VC, crypto_provide, len(PadC) = 0 (PadC is for future extensions: the spec asks for none), len(IA), IA.
  const tail = new Uint8Array(8 + 4 + 2 + 2 + ia.length)
  const view = new DataView(tail.buffer)
  view.setUint32(8, opts.provide)
  view.setUint16(12, 0)
  view.setUint16(14, ia.length)
  tail.set(ia, 16)
  encrypt.update(tail)
  send(concat(sha1(REQ1, s), xor(skeyHash(opts.infoHash), sha1(REQ3, s)), tail))

  // B's VC, encrypted: the next 8 bytes of its keystream, found past PadB.
  const vcSeen = VC.slice()
  decrypt.update(vcSeen)
  await reader.skipPast(vcSeen, MAX_PADDING, 'VC from the responder')
  const head = await reader.read(6)
  decrypt.update(head)
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength)
  const method = hv.getUint32(0)
  if ((method !== CRYPTO_PLAINTEXT && method !== CRYPTO_RC4) || (method & opts.provide) === 0) {
    throw new MseError(`MSE: the responder selected crypto method 0x${method.toString(16)}, we provided 0x${opts.provide.toString(16)}`)
  }
  const padD = hv.getUint16(4)
  if (padD > MAX_PADDING) throw new MseError(`MSE: PadD of ${padD} bytes (at most ${MAX_PADDING})`)
  decrypt.update(await reader.read(padD))
  return method === CRYPTO_RC4
    ? { method, infoHash: opts.infoHash, encrypt, decrypt, initialPayload: new Uint8Array(0) }
    : { method, infoHash: opts.infoHash, encrypt: undefined, decrypt: undefined, initialPayload: new Uint8Array(0) }
}

export async function respondMse (io: MseIO, opts: ResponderOptions): Promise<MseResult> {
  const { reader, send } = io
  const keys = new DhKeyPair()
  const s = keys.secret(await reader.read(DH_KEY_LENGTH))
  send(concat(keys.publicKey, randomBytes(opts.padding?.b ?? randomInt(MAX_PADDING + 1))))

  await reader.skipPast(sha1(REQ1, s), MAX_PADDING, 'HASH(\'req1\', S) from the initiator')
  const req2 = xor(await reader.read(SKEY_LENGTH), sha1(REQ3, s))
  const infoHash = opts.findSkey(req2)
  if (infoHash === undefined) throw new MseError('MSE: the initiator asked for a torrent we do not serve')
  const decrypt = new RC4(sha1(KEY_A, s, infoHash), MSE_RC4_DISCARD)
  const encrypt = new RC4(sha1(KEY_B, s, infoHash), MSE_RC4_DISCARD)

  const head = await reader.read(14)
  decrypt.update(head)
  for (let i = 0; i < 8; i++) if (head[i] !== 0) throw new MseError('MSE: bad VC from the initiator (wrong key or not MSE)')
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength)
  const provide = hv.getUint32(8)
  const padC = hv.getUint16(12)
  if (padC > MAX_PADDING) throw new MseError(`MSE: PadC of ${padC} bytes (at most ${MAX_PADDING})`)
  decrypt.update(await reader.read(padC))
  const iaLength = await reader.read(2)
  decrypt.update(iaLength)
  const ia = await reader.read(((iaLength[0] as number) << 8) | (iaLength[1] as number))
  decrypt.update(ia)

  const method = opts.select(provide)
  if (method !== CRYPTO_PLAINTEXT && method !== CRYPTO_RC4) {
    throw new MseError(`MSE: no crypto method in common (the initiator provides 0x${provide.toString(16)})`)
  }
  // VC, crypto_select, len(PadD) = 0.
  const reply = new Uint8Array(14)
  new DataView(reply.buffer).setUint32(8, method)
  encrypt.update(reply)
  send(reply)
  return method === CRYPTO_RC4
    ? { method, infoHash, encrypt, decrypt, initialPayload: ia }
    : { method, infoHash, encrypt: undefined, decrypt: undefined, initialPayload: ia }
}

/** The responder's usual choice: RC4 when the initiator offers it and we allow it, else plaintext. */
export function selectMethod (allowed: number): (provide: number) => number {
  return (provide) => {
    const common = provide & allowed
    if ((common & CRYPTO_RC4) !== 0) return CRYPTO_RC4
    if ((common & CRYPTO_PLAINTEXT) !== 0) return CRYPTO_PLAINTEXT
    return 0
  }
}

function xor (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number)
  return out
}

function concat (...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}
