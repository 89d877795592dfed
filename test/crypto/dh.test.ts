import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DH_KEY_LENGTH, DhKeyPair, leftPad, MSE_PRIME, validPublicKey } from '../../lib/crypto/dh.js'
import { MseError } from '../../lib/crypto/errors.js'

const P = BigInt('0x' + MSE_PRIME.toString('hex'))
const big = (b: Uint8Array): bigint => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'))
const bytes96 = (n: bigint): Uint8Array => Buffer.from(n.toString(16).padStart(192, '0'), 'hex')

test('MSE DH: both sides compute the same 96-byte S from each other\'s 96-byte public keys', () => {
  for (let i = 0; i < 20; i++) {
    const a = new DhKeyPair()
    const b = new DhKeyPair()
    assert.equal(a.publicKey.length, DH_KEY_LENGTH)
    const s = a.secret(b.publicKey)
    assert.equal(s.length, DH_KEY_LENGTH)
    assert.deepEqual(Buffer.from(s), Buffer.from(b.secret(a.publicKey)))
  }
})

test('MSE DH: the public key is 2^x mod P with the published prime and generator 2 (checked with BigInt)', () => {
  // 2^x mod P for our key equals what the peer computes: check by raising the peer's key instead.
  const a = new DhKeyPair()
  assert.ok(big(a.publicKey) > 1n && big(a.publicKey) < P - 1n)
  // S = Yb^xa = Ya^xb; with Yb = 2 (the generator itself, a valid key), S = 2^xa = Ya.
  assert.deepEqual(Buffer.from(a.secret(bytes96(2n))), Buffer.from(a.publicKey))
})

test('MSE DH: a public key or secret whose top byte is zero keeps its leading zeros (96 bytes on the wire)', () => {
  // About 1 key in 256 has a zero top byte: search until one shows up, then agree with it.
  let small: DhKeyPair | undefined
  for (let i = 0; i < 5000 && small === undefined; i++) {
    const k = new DhKeyPair()
    if (k.publicKey[0] === 0) small = k
  }
  assert.ok(small !== undefined, 'found a key with a zero top byte')
  assert.equal(small.publicKey.length, 96)
  const other = new DhKeyPair()
  assert.deepEqual(Buffer.from(small.secret(other.publicKey)), Buffer.from(other.secret(small.publicKey)))
  let zeroTop = false
  for (let i = 0; i < 5000 && !zeroTop; i++) {
    const x = new DhKeyPair()
    const s = x.secret(other.publicKey)
    assert.equal(s.length, 96)
    zeroTop = s[0] === 0
    if (zeroTop) assert.deepEqual(Buffer.from(s), Buffer.from(other.secret(x.publicKey)))
  }
  assert.ok(zeroTop, 'found a secret with a zero top byte')
  assert.deepEqual([...leftPad(new Uint8Array([1, 2]))].slice(-3), [0, 1, 2])
})

test('MSE DH: a peer key of 0, 1, P-1, P or above, or not 96 bytes is refused with an MseError', () => {
  const a = new DhKeyPair()
  for (const bad of [0n, 1n, P - 1n, P, P + 5n, (1n << 768n) - 1n]) {
    assert.equal(validPublicKey(bytes96(bad)), false, `Y = ${bad}`)
    assert.throws(() => a.secret(bytes96(bad)), MseError)
  }
  assert.throws(() => a.secret(new Uint8Array(95).fill(7)), MseError)
  assert.equal(validPublicKey(bytes96(2n)), true)
  assert.equal(validPublicKey(bytes96(P - 2n)), true)
})
