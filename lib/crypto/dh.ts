import { createDiffieHellman, createHash, randomBytes, type DiffieHellman } from 'node:crypto'
import { MseError } from './errors.js'

/**
 * The Diffie-Hellman exchange of MSE/PE: the published 768-bit prime, generator 2, public keys
 * and the shared secret S written as 96 big-endian bytes (leading zeros kept: a key whose top
 * byte is 0, 1 time in 256, is still 96 bytes on the wire and in every hash).
 *
 * Cost, measured here: `createDiffieHellman(prime)` checks the prime (17 ms of CPU); a key pair
 * and a secret are 0.15 ms each. So one DiffieHellman object is made once and lent to each
 * exchange: every use sets that exchange's private key first, and each use is synchronous, so
 * exchanges never see each other's key.
 */
export const MSE_PRIME = Buffer.from(
  'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563',
  'hex'
)
export const MSE_GENERATOR = 2
/** 768 bits. */
export const DH_KEY_LENGTH = 96
/** The spec's 160-bit private keys (what every client uses): the exponent sets the cost. */
const PRIVATE_KEY_BYTES = 20

/** P - 1, the largest value a public key may not take (with 0 and 1: they fix the secret). */
const PRIME_MINUS_ONE = (() => { const b = Buffer.from(MSE_PRIME); b[DH_KEY_LENGTH - 1] = (b[DH_KEY_LENGTH - 1] as number) - 1; return b })()

let shared: DiffieHellman | undefined
function engine (): DiffieHellman {
  shared ??= createDiffieHellman(MSE_PRIME, MSE_GENERATOR)
  return shared
}

/** One side's key pair for one handshake. */
export class DhKeyPair {
  private readonly _private = randomBytes(PRIVATE_KEY_BYTES)
  /** Our public key, 96 bytes. */
  readonly publicKey: Uint8Array

  constructor () {
    const dh = engine()
    dh.setPrivateKey(this._private)
    this.publicKey = leftPad(dh.generateKeys())
  }

  /**
   * S from the peer's 96-byte public key. A key outside 2..P-2 (which would make S 0, 1 or
   * known to anyone watching) is the peer's fault: a ProtocolError.
   */
  secret (peerPublicKey: Uint8Array): Uint8Array {
    if (!validPublicKey(peerPublicKey)) throw new MseError('MSE: the peer\'s Diffie-Hellman key is out of range')
    const dh = engine()
    dh.setPrivateKey(this._private)
    return leftPad(dh.computeSecret(peerPublicKey))
  }
}

/** 96 bytes, big-endian, strictly between 1 and P - 1. */
export function validPublicKey (key: Uint8Array): boolean {
  if (key.length !== DH_KEY_LENGTH) return false
  let above1 = false
  for (let i = 0; i < DH_KEY_LENGTH - 1; i++) if (key[i] !== 0) { above1 = true; break }
  if (!above1 && (key[DH_KEY_LENGTH - 1] as number) <= 1) return false
  return Buffer.compare(key, PRIME_MINUS_ONE) < 0
}

/** Big-endian numbers of fewer than 96 bytes get their leading zeros back. */
export function leftPad (n: Uint8Array): Uint8Array {
  if (n.length === DH_KEY_LENGTH) return n
  if (n.length > DH_KEY_LENGTH) throw new RangeError(`DH value of ${n.length} bytes`)
  const out = new Uint8Array(DH_KEY_LENGTH)
  out.set(n, DH_KEY_LENGTH - n.length)
  return out
}

/** HASH() of the spec: SHA-1 over the parts, in order. */
export function sha1 (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}
