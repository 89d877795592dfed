import assert from 'node:assert/strict'
import { test } from 'node:test'
import { humanSize, printable } from '../../lib/util/format.js'

test('humanSize: binary units, at most three significant digits', () => {
  assert.equal(humanSize(0), '0 B')
  assert.equal(humanSize(1023), '1023 B')
  assert.equal(humanSize(1024), '1 KiB')
  assert.equal(humanSize(1536), '1.5 KiB')
  assert.equal(humanSize(100_000), '97.7 KiB')
  assert.equal(humanSize(100 * 1024), '100 KiB')
  assert.equal(humanSize(1024 * 1024 - 1), '1 MiB')
  assert.equal(humanSize(5 * 1024 ** 3 + 1), '5 GiB')
  assert.throws(() => humanSize(-1), RangeError)
})

test('printable: control characters from a hostile torrent cannot reach the terminal raw', () => {
  assert.equal(printable('a\x1b[2Jb\nc\u2028'), 'a\\x1b[2Jb\\x0ac\\u2028')
  assert.equal(printable('ünïcode ok'), 'ünïcode ok')
})
