import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { test } from 'node:test'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { BencodeError, MetainfoError } from '../../lib/util/errors.js'
import { FIXTURES, fixture } from '../helpers.js'

/** fixtures/malformed/<name>.torrent -> the exact error (made by fixtures/tools.py "handmade"). */
const CASES: Record<string, [typeof BencodeError | typeof MetainfoError, string]> = {
  'deep-nesting': [BencodeError, 'invalid bencoding at byte 262: nesting deeper than 256 levels'],
  'duplicate-key': [BencodeError, 'invalid bencoding at byte 79: duplicate dictionary key "name"'],
  'empty-files': [MetainfoError, 'info.files is empty'],
  empty: [BencodeError, 'empty input: expected a bencoded value'],
  'float-int': [BencodeError, 'invalid bencoding at byte 100: expected a digit or \'e\' in an integer, found \'.\''],
  'huge-string-length': [BencodeError, 'invalid bencoding at byte 7: string of length 99999999999 runs past the end of the data (1 bytes left)'],
  'hybrid-mismatch': [MetainfoError, 'hybrid torrent: the v1 file list and the v2 file tree disagree (v1 has "cd1/track02.bin" of 17 bytes, v2 has "cd1/track02.bin" of 18 bytes)'],
  'info-not-dict': [MetainfoError, 'info must be a dictionary, found an integer'],
  'leading-zero-int': [BencodeError, 'invalid bencoding at byte 94: integer has a leading zero or is -0 (BEP 3)'],
  'length-and-files': [MetainfoError, 'info has both "length" (single file) and "files" (multi file)'],
  'meta-version-3': [MetainfoError, 'info.meta version 3 is not supported (only BEP 52 version 2)'],
  'missing-name': [MetainfoError, 'info.name is missing'],
  'negative-length': [MetainfoError, 'info.length must not be negative, found -5'],
  'negative-string-length': [BencodeError, 'invalid bencoding at byte 8: expected a value, found \'-\''],
  'no-info': [MetainfoError, 'the .torrent has no info dictionary'],
  'not-a-dict': [MetainfoError, 'a .torrent must be a bencoded dictionary'],
  'path-collision-after-sanitise': [MetainfoError, 'info.files[1] and info.files[0] both map to the path "m/a_b"'],
  'path-dotdot': [MetainfoError, 'info.files[1] ("../../etc/passwd"): path component ".." would leave the download directory'],
  'path-duplicate': [MetainfoError, 'info.files[1] and info.files[0] both map to the path "m/a/b"'],
  'path-empty': [MetainfoError, 'info.files[0] ("/."): path is empty after removing empty and "." components'],
  'path-file-is-dir': [MetainfoError, 'info.files[0] has the path "m/a", which info.files[1] needs as a directory'],
  'path-not-list': [MetainfoError, 'info.files[0].path must be a list, found a byte string'],
  'path-nul': [MetainfoError, 'info.files[0] ("evil\\u0000.txt"): path component contains a NUL byte'],
  'piece-count-mismatch': [MetainfoError, 'info.pieces holds 3 hashes but 20000 bytes in 16384-byte pieces need 2'],
  'piece-length-string': [MetainfoError, 'info.piece length must be an integer, found a byte string'],
  'piece-length-zero': [MetainfoError, 'info.piece length must be between 1 and 268435456, found 0'],
  'pieces-37': [MetainfoError, 'info.pieces length 37 is not a multiple of 20'],
  'proto-key': [BencodeError, 'invalid bencoding at byte 153: dictionary key "__proto__" is not supported'],
  'string-past-end': [BencodeError, 'invalid bencoding at byte 7: string of length 500 runs past the end of the data (4 bytes left)'],
  'trailing-garbage': [BencodeError, 'invalid bencoding at byte 154: 7 bytes of trailing data after the value'],
  truncated: [BencodeError, 'invalid bencoding at byte 223: string of length 13 runs past the end of the data (8 bytes left)']
}

test('every fixture in fixtures/malformed has an expected error here', () => {
  const files = readdirSync(new URL('malformed/', FIXTURES)).map(f => f.replace(/\.torrent$/, '')).sort()
  assert.deepEqual(files, Object.keys(CASES).sort())
})

for (const [name, [cls, message]] of Object.entries(CASES)) {
  test(`malformed/${name}.torrent: ${cls.name}: ${message}`, () => {
    assert.throws(() => parseTorrent(fixture(`malformed/${name}.torrent`)), (err: unknown) => {
      assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`)
      assert.equal(err.message, message)
      return true
    })
  })
}
