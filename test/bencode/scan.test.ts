import assert from 'node:assert/strict'
import { test } from 'node:test'
import bencode from 'bencode'
import { decodeBencode, decodeBencodePrefix } from '../../lib/bencode/decode.js'
import { MAX_DEPTH, scanBencode } from '../../lib/bencode/scan.js'
import { BencodeError } from '../../lib/util/errors.js'
import { fixture } from '../helpers.js'

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))
const rejects = (s: string | Uint8Array, message: string): void => {
  assert.throws(() => decodeBencode(typeof s === 'string' ? b(s) : s), (err: unknown) => err instanceof BencodeError && err.message === message)
}

test('BEP 3 bencoding: the four types decode through the bencode library', () => {
  assert.deepEqual(decodeBencode(b('d3:cow3:moo4:spaml1:ai-3ei0eee')), { cow: b('moo'), spam: [b('a'), -3, 0] })
  assert.deepEqual(decodeBencode(b('0:')), b(''))
})

test('BEP 3: i-0e, i03e, ie and non-digits in integers are invalid', () => {
  rejects('i-0e', 'invalid bencoding at byte 0: integer has a leading zero or is -0 (BEP 3)')
  rejects('i03e', 'invalid bencoding at byte 0: integer has a leading zero or is -0 (BEP 3)')
  rejects('ie', 'invalid bencoding at byte 0: integer has no digits')
  rejects('i+3e', 'invalid bencoding at byte 1: expected a digit or \'e\' in an integer, found \'+\'')
  rejects('i12', 'invalid bencoding at byte 0: data ends inside an integer (truncated?)')
})

test('the library alone is unsafe on hostile input, which is why we scan first', () => {
  // A string length past the end silently yields a short string instead of an error ...
  assert.deepEqual(bencode.decode(b('5:ab')), b('ab'))
  // ... and trailing bytes and non-numbers pass unnoticed.
  assert.equal(bencode.decode(b('i1.5ejunk')), 1)
  rejects('5:ab', 'invalid bencoding at byte 0: string of length 5 runs past the end of the data (2 bytes left)')
  rejects('i1.5e', 'invalid bencoding at byte 2: expected a digit or \'e\' in an integer, found \'.\'')
})

test('a negative string length (the library would loop forever) is rejected', () => {
  rejects('l-3:e', 'invalid bencoding at byte 1: expected a value, found \'-\'')
})

test('a huge declared string length is rejected without allocating', () => {
  rejects('99999999999:', 'invalid bencoding at byte 0: string of length 99999999999 runs past the end of the data (0 bytes left)')
  rejects('9999999999999999999:', 'invalid bencoding at byte 0: string length has 19 digits')
})

test(`nesting is capped at ${MAX_DEPTH} levels; at the cap the library decodes without overflow`, () => {
  const ok = 'l'.repeat(MAX_DEPTH) + 'e'.repeat(MAX_DEPTH)
  assert.ok(Array.isArray(decodeBencode(b(ok))))
  rejects('l'.repeat(MAX_DEPTH + 1) + 'e'.repeat(MAX_DEPTH + 1), `invalid bencoding at byte ${MAX_DEPTH}: nesting deeper than ${MAX_DEPTH} levels`)
  // A million levels: still a clean error, no stack overflow, no recursion.
  rejects('l'.repeat(1_000_000), `invalid bencoding at byte ${MAX_DEPTH}: nesting deeper than ${MAX_DEPTH} levels`)
})

test('truncation inside containers is named', () => {
  rejects('l1:a', 'invalid bencoding at byte 4: data ends inside a list (truncated?)')
  rejects('d1:a', 'invalid bencoding at byte 4: data ends inside a dictionary (truncated?)')
  rejects('d1:ai1e', 'invalid bencoding at byte 7: data ends inside a dictionary (truncated?)')
  rejects('d3:fooe', 'invalid bencoding at byte 6: expected a value, found \'e\'')
  rejects('di1ei2ee', 'invalid bencoding at byte 1: dictionary key must be a byte string, found \'i\'')
  rejects('e', 'invalid bencoding at byte 0: expected a value, found \'e\'')
})

test('dictionary keys: unsorted accepted, duplicates and __proto__ rejected', () => {
  assert.deepEqual(decodeBencode(b('d1:bi1e1:ai2ee')), { b: 1, a: 2 })
  rejects('d1:ai1e1:ai2ee', 'invalid bencoding at byte 7: duplicate dictionary key "a"')
  rejects('d9:__proto__i1ee', 'invalid bencoding at byte 1: dictionary key "__proto__" is not supported')
  // The library names a non-UTF-8 key by its hex, which could collide with a real key.
  rejects('d1:\xffi1e2:ffi2ee', 'invalid bencoding at byte 7: duplicate dictionary key "ff"')
  // Its UTF-8 decoder also drops a leading BOM, so "\uFEFFa" and "a" are the same key to it.
  assert.deepEqual(bencode.decode(b('d4:\xef\xbb\xbfai1e1:ai2ee')), { a: 2 })
  rejects('d4:\xef\xbb\xbfai1e1:ai2ee', 'invalid bencoding at byte 10: duplicate dictionary key "a"')
})

test('trailing bytes: rejected by default, allowed for a prefix (BEP 9 data after the dict)', () => {
  rejects('i1eXYZ', 'invalid bencoding at byte 3: 3 bytes of trailing data after the value')
  const p = decodeBencodePrefix(b('d8:msg_typei1e5:piecei0eeRAWDATA'))
  assert.equal(p.length, 25)
  assert.deepEqual(p.value, { msg_type: 1, piece: 0 })
})

test('top-level entry spans agree with the library\'s own decode.position walk', () => {
  for (const name of ['single.torrent', 'multi.torrent', 'noncanonical.torrent', 'hybrid.torrent']) {
    const bytes = fixture(name)
    const spans = scanBencode(bytes).entries ?? []
    // Walk the top-level dict with the library: decode a key, then a value, reading positions.
    const walked: { key: string, start: number, end: number }[] = []
    const decode = bencode.decode as unknown as ((d: Uint8Array, start: number) => unknown) & { position: number }
    let pos = 1
    while (bytes[pos] !== 0x65) {
      const key = Buffer.from(decode(bytes, pos) as Uint8Array).toString('utf8')
      pos += decode.position
      const start = pos
      decode(bytes, pos)
      pos += decode.position
      walked.push({ key, start, end: pos })
    }
    assert.deepEqual(spans, walked)
  }
})
