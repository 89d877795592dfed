/**
 * One helper thread per process (lib/util/helper-thread.ts): MSE/PE decryption (BEP 8's RC4) and
 * piece hashing (BEP 3's SHA-1) share it, because each thread is a V8 isolate of its own (~8.5 MiB
 * of RSS before it does any work). Counted by threads started, never by RSS.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { decryptorFor } from '../../lib/crypto/decrypt-thread.js'
import { RC4, MSE_RC4_DISCARD } from '../../lib/crypto/rc4.js'
import { PieceHasher } from '../../lib/pieces/piece-hasher.js'
import { helperThread } from '../../lib/util/helper-thread.js'

/** Bytes that own their ArrayBuffer (so they can move to the thread), filled at random. */
function ownedRandom (n: number): Buffer {
  const b = Buffer.allocUnsafeSlow(n)
  randomBytes(n).copy(b)
  return b
}

test('an encrypted download hashes and decrypts on one thread: one isolate, not two', async () => {
  const before = helperThread.started
  const hasher = new PieceHasher()
  hasher.warm()
  const key = randomBytes(20)
  const encrypt = new RC4(key, MSE_RC4_DISCARD)
  const decryptor = decryptorFor(new RC4(key, MSE_RC4_DISCARD))
  try {
    for (let i = 0; i < 500 && !hasher.threaded; i++) await new Promise(resolve => setTimeout(resolve, 20))
    assert.ok(hasher.threaded, 'the helper thread came online within 10 s')

    const plain = ownedRandom(64 * 1024)
    const chunk = ownedRandom(plain.byteLength)
    plain.copy(chunk)
    encrypt.update(chunk)
    const out = await new Promise<Uint8Array>((resolve, reject) => {
      decryptor.decrypt(chunk, (err, got) => { if (err !== null || got === undefined) reject(err); else resolve(got) })
    })
    assert.ok(Buffer.from(out).equals(plain), 'RC4 on the thread gives the plaintext')
    assert.equal(chunk.byteLength, 0, 'the chunk moved to the thread (detached), it was not decrypted here')

    const piece = ownedRandom(256 * 1024)
    const expected = createHash('sha1').update(piece).digest()
    const { digest } = await hasher.digest(piece)
    assert.deepEqual(Buffer.from(digest), expected)
    assert.equal(piece.byteLength, 0, 'the piece moved to the thread (detached)')

    assert.equal(helperThread.started - before, 1, 'hashing and decryption started one thread between them')
  } finally {
    decryptor.close()
    hasher.close()
  }
})
