import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { test } from 'node:test'
import bencode from 'bencode'
import { decodeBencode } from '../../lib/bencode/decode.js'
import { parseMagnet } from '../../lib/magnet/parse.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { BtStreamError } from '../../lib/util/errors.js'
import { FIXTURES, fixture, prng } from '../helpers.js'

/**
 * Hostile input must end in a BtStreamError (or a valid Metainfo), never another exception, a
 * stack overflow or a hang. Seeded, so a failure names a case that reproduces.
 */

const CASES = 3000

/** Either a consistent Metainfo or a BtStreamError; anything else fails with the case's label. */
function check (bytes: Uint8Array, label: string): void {
  let m: Metainfo
  try {
    m = parseTorrent(bytes)
  } catch (err) {
    if (err instanceof BtStreamError) return
    assert.fail(`${label}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  }
  // BEP 52 v2-only: no SHA-1 hashes; pieces are checked against the piece layers instead.
  assert.equal(m.pieceHashes.length, m.version === 'v2' ? 0 : m.pieceCount * 20, label)
  assert.equal(m.pieceCount, Math.ceil(m.length / m.pieceLength), label)
  let offset = 0
  for (const f of m.files) {
    assert.equal(f.offset, offset, label)
    offset += f.length
    assert.ok(!f.path.startsWith('/') && !f.path.split('/').some(c => c === '..' || c === '.' || c === '' || c.includes('\\') || c.includes('\0')), `${label}: unsafe path ${f.path}`)
  }
  assert.equal(offset, m.length, label)
}

const TOKENS = ['d', 'l', 'e', 'i', 'i-', '0', '9', ':', '-', '4:info', '5:files', '4:path', '6:length', '12:piece length', '6:pieces', '2:..', '1:/', '99999999999:', 'i-0e', 'i03e', '0:', 'le', 'de']

function mutate (src: Uint8Array, rand: () => number): Uint8Array {
  const b = Array.from(src)
  const n = 1 + Math.floor(rand() * 4)
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * (b.length + 1))
    switch (Math.floor(rand() * 6)) {
      case 0: b[at] = Math.floor(rand() * 256); break
      case 1: b.splice(at, 1 + Math.floor(rand() * 16)); break
      case 2: b.splice(at, 0, ...Buffer.from(TOKENS[Math.floor(rand() * TOKENS.length)] as string)); break
      case 3: b.length = at; break
      case 4: { const from = Math.floor(rand() * b.length); b.splice(at, 0, ...b.slice(from, from + 1 + Math.floor(rand() * 64))); break }
      default: if (b[at] !== undefined && b[at] >= 0x30 && b[at] <= 0x39) b[at] = 0x30 + Math.floor(rand() * 10)
    }
  }
  return new Uint8Array(b)
}

/** A random but well-formed value shaped roughly like metainfo, so parsing gets past bencoding. */
function randomValue (rand: () => number, depth: number): unknown {
  const r = rand()
  const keys = ['info', 'name', 'length', 'files', 'path', 'piece length', 'pieces', 'announce', 'announce-list', 'url-list', 'private', 'attr', 'meta version', 'file tree', 'name.utf-8', 'path.utf-8']
  if (depth > 4 || r < 0.3) return Math.floor((rand() - 0.3) * 2 ** (rand() * 60))
  if (r < 0.55) return Buffer.from(Array.from({ length: Math.floor(rand() * 45) }, () => rand() < 0.5 ? 0x61 + Math.floor(rand() * 3) : Math.floor(rand() * 256)))
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1))
  const d: Record<string, unknown> = {}
  for (let i = Math.floor(rand() * 6); i > 0; i--) d[keys[Math.floor(rand() * keys.length)] as string] = randomValue(rand, depth + 1)
  return d
}

test(`fuzz: ${CASES} mutations of every fixture give a BtStreamError or a consistent Metainfo`, { timeout: 60_000 }, () => {
  const rand = prng(0xb17)
  const seeds = ['single', 'tiny', 'multi', 'hybrid', 'noncanonical', 'sanitised', 'v2only'].map(n => fixture(`${n}.torrent`))
  for (const f of readdirSync(new URL('malformed/', FIXTURES))) seeds.push(fixture(`malformed/${f}`))
  for (let i = 0; i < CASES; i++) {
    const src = seeds[i % seeds.length] as Uint8Array
    check(mutate(src, rand), `mutation case ${i}`)
  }
})

test(`fuzz: ${CASES} random byte strings and ${CASES} random metainfo-shaped values`, { timeout: 60_000 }, () => {
  const rand = prng(42)
  for (let i = 0; i < CASES; i++) {
    const bytes = new Uint8Array(Math.floor(rand() * 200))
    for (let j = 0; j < bytes.length; j++) bytes[j] = rand() < 0.5 ? (TOKENS.join('').charCodeAt(Math.floor(rand() * 40))) : Math.floor(rand() * 256)
    check(bytes, `random case ${i}`)
  }
  for (let i = 0; i < CASES; i++) {
    const top = randomValue(rand, 0)
    const value = rand() < 0.8 ? { info: top, announce: randomValue(rand, 3) } : top
    check(bencode.encode(value), `shaped case ${i}`)
  }
})

test('fuzz: decodeBencode and parseMagnet only ever throw BtStreamError', { timeout: 60_000 }, () => {
  const rand = prng(7)
  const alphabet = 'magnet:?xt=urn:btih:btmh:&dn=tr=x.pe=so=ws=%0123456789abcdefABCDEF[]:,-+./ '
  for (let i = 0; i < CASES; i++) {
    const s = 'magnet:?' + Array.from({ length: Math.floor(rand() * 120) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('')
    try { parseMagnet(s) } catch (err) { if (!(err instanceof BtStreamError)) assert.fail(`magnet case ${i} ${JSON.stringify(s)}: ${String(err)}`) }
    const bytes = mutate(Buffer.from('d1:ad1:bl1:ci1eee1:d0:e'), rand)
    try { decodeBencode(bytes) } catch (err) { if (!(err instanceof BtStreamError)) assert.fail(`bencode case ${i}: ${String(err)}`) }
  }
})
