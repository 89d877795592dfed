import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { MSE_RC4_DISCARD, RC4 } from '../../lib/crypto/rc4.js'

// RFC 6229 section 2: keystream bytes (RC4 of zeros) at the given offsets.
const RFC6229: Array<{ key: string, at: Record<number, string> }> = [
  {
    key: '0102030405',
    at: {
      0: 'b2396305f03dc027ccc3524a0a1118a8',
      16: '6982944f18fc82d589c403a47a0d0919',
      240: '28cb1132c96ce286421dcaadb8b69eae',
      256: '1cfcf62b03eddb641d77dfcf7f8d8c93',
      496: '42b7d0cdd918a8a33dd51781c81f4041',
      512: '6459844432a7da923cfb3eb4980661f6',
      752: 'ec10327bde2beefd18f9277680457e22',
      768: 'eb62638d4f0ba1fe9fca20e05bf8ff2b',
      1008: '45129048e6a0ed0b56b490338f078da5',
      1024: '30abbcc7c20b01609f23ee2d5f6bb7df',
      1520: '3294f744d8f9790507e70f62e5bbceea',
      1536: 'd8729db41882259bee4f825325f5a130',
      2032: '1eb14a0c13b3bf47fa2a0ba93ad45b8b',
      2048: 'cc582f8ba9f265e2b1be9112e975d2d7',
      3056: 'f2e30f9bd102ecbf75aaade9bc35c43c',
      3072: 'ec0e11c479dc329dc8da7968fe965681',
      4080: '068326a2118416d21f9d04b2cd1ca050',
      4096: 'ff25b58995996707e51fbdf08b34d875'
    }
  },
  {
    key: '0102030405060708090a0b0c0d0e0f10',
    at: { 0: '9ac7cc9a609d1ef7b2932899cde41b97', 1024: 'bdf0324e6083dcc6d3cedd3ca8c53c16', 4096: 'a36a4c301ae8ac13610ccbc12256cacc' }
  },
  {
    key: '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20',
    at: { 0: 'eaa6bd25880bf93d3f5d1e4ca2611d91', 1024: '7fec5bfd9f9b89ce6548309092d7e958', 4096: 'f3e4c0a2e02d1d01f7f0a74618af2b48' }
  }
]

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

for (const v of RFC6229) {
  test(`RC4 RFC 6229: key ${v.key} gives the published keystream at every offset (one call)`, () => {
    const stream = new Uint8Array(4112)
    new RC4(Buffer.from(v.key, 'hex')).update(stream)
    for (const [offset, want] of Object.entries(v.at)) {
      assert.equal(hex(stream.subarray(Number(offset), Number(offset) + 16)), want, `offset ${offset}`)
    }
  })
}

test('RC4 RFC 6229 through the MSE drop: the first byte after discarding 1024 is the offset-1024 vector', () => {
  for (const v of RFC6229) {
    const out = new Uint8Array(16)
    new RC4(Buffer.from(v.key, 'hex'), MSE_RC4_DISCARD).update(out)
    assert.equal(hex(out), v.at[1024])
  }
})

test('RC4: a keystream cut into odd pieces at odd offsets (the word path, its head and tail) equals one call', () => {
  const key = randomBytes(20)
  const whole = randomBytes(70_001)
  const want = Uint8Array.from(whole)
  new RC4(key, 1024).update(want)
  // Pieces land at every alignment inside one buffer, as socket chunks and subarrays do.
  const got = Uint8Array.from(whole)
  const c = new RC4(key, 1024)
  const sizes = [1, 2, 3, 4, 5, 7, 15, 16, 17, 31, 1000, 4093, 16384, 16385]
  let at = 0
  for (let i = 0; at < got.length; i++) {
    const n = Math.min(sizes[i % sizes.length] as number, got.length - at)
    c.update(got.subarray(at, at + n))
    at += n
  }
  assert.equal(hex(got), hex(want))
})

test('RC4: encryptCopy leaves its input alone and decrypts back with the same key', () => {
  const key = randomBytes(20)
  const plain = randomBytes(16_397).subarray(3) // unaligned source, like a block inside a piece
  const before = Buffer.from(plain)
  const sealed = new RC4(key, 1024).encryptCopy(plain)
  assert.ok(Buffer.from(plain).equals(before), 'input untouched')
  assert.notEqual(hex(sealed), hex(plain))
  new RC4(key, 1024).update(sealed)
  assert.ok(Buffer.from(sealed).equals(before))
})

test('RC4: an empty key and a key over 256 bytes are refused', () => {
  assert.throws(() => new RC4(new Uint8Array(0)), RangeError)
  assert.throws(() => new RC4(new Uint8Array(257)), RangeError)
})
