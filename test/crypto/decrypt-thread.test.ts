/**
 * RC4 decryption on the shared decrypting thread (lib/crypto/decrypt-thread.ts): the same bytes as
 * the main thread's RC4, in order, for several connections at once; and an EncryptedStream whose
 * reader does not read holds a bounded number of chunks there.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { decryptorFor } from '../../lib/crypto/decrypt-thread.js'
import { RC4, MSE_RC4_DISCARD } from '../../lib/crypto/rc4.js'
import { initiator, mseDone, readBytes, responder } from './helpers.js'
import { socketPair, within } from '../wire/helpers.js'

test('MSE decryption off the main thread: three keystreams interleaved come back in order, equal to the main thread\'s RC4', async () => {
  const streams = [0, 1, 2].map(k => {
    const key = randomBytes(20)
    const reference = new RC4(key, MSE_RC4_DISCARD)
    // The keystream moves after some of it was used on the main thread (the handshake's part).
    const live = new RC4(key, MSE_RC4_DISCARD)
    const head = randomBytes(100 + k)
    reference.update(Buffer.from(head))
    live.update(Buffer.from(head))
    return { reference, decryptor: decryptorFor(live), got: [] as Buffer[], want: [] as Buffer[] }
  })
  const all: Array<Promise<void>> = []
  for (let round = 0; round < 40; round++) {
    for (const s of streams) {
      const plain = randomBytes(1 + (round * 7919) % 70_000)
      const cipher = Buffer.from(plain)
      s.reference.update(cipher) // encrypt: XOR with the same keystream
      s.want.push(plain)
      // Every other chunk is a view into a larger buffer: it cannot move and is copied.
      const chunk = round % 2 === 0 ? Buffer.from(cipher) : Buffer.concat([Buffer.alloc(3), cipher]).subarray(3)
      all.push(new Promise<void>((resolve, reject) => {
        s.decryptor.decrypt(chunk, (err, out) => { if (err !== null || out === undefined) reject(err); else { s.got.push(Buffer.from(out)); resolve() } })
      }))
    }
  }
  await within(20_000, 'every chunk back', Promise.all(all))
  for (const s of streams) {
    assert.equal(s.decryptor.pending, 0)
    assert.ok(Buffer.concat(s.got).equals(Buffer.concat(s.want)), 'same plaintext, same order')
    s.decryptor.close()
  }
})

test('MSE decryption off the main thread: a reader that does not read pauses the socket with a bounded number of chunks at the thread', async (t) => {
  const pair = await socketPair()
  t.after(pair.close)
  const a = initiator(pair.a)
  const b = responder(pair.b, { highWaterMark: 16 * 1024 })
  t.after(() => { a.destroy(); b.destroy() })
  a.write(Buffer.from('hello'))
  await Promise.all([mseDone(a), mseDone(b)])
  assert.deepEqual(await readBytes(b, 5), Buffer.from('hello'))
  // 32 MiB toward a reader that reads nothing: TCP and our bounds must stop it well before.
  const big = randomBytes(1 << 20)
  for (let i = 0; i < 32; i++) a.write(big)
  await new Promise(resolve => setTimeout(resolve, 500))
  const pending = (b as unknown as { _decrypt: { pending: number } })._decrypt.pending
  assert.ok(pending <= 16, `${pending} chunks at the decrypting thread`)
  assert.ok(b.readableLength < 4 << 20, `${b.readableLength} bytes decrypted and waiting`)
  // Reading again drains it all, intact.
  const got = await readBytes(b, 4 << 20, 20_000)
  assert.ok(got.equals(Buffer.concat([big, big, big, big])))
})
