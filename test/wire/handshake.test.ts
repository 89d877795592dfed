import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError } from '../../lib/util/errors.js'
import { decodeExtendedHandshake, encodeExtendedHandshake } from '../../lib/wire/extended-handshake.js'
import { decodeHandshake, decodeReserved, encodeHandshake, encodeReserved } from '../../lib/wire/handshake.js'
import { CLIENT_CODE, clientFromPeerId, generatePeerId } from '../../lib/wire/peer-id.js'
import { plain } from './helpers.js'

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)

test('BEP 3: the handshake is 19, "BitTorrent protocol", 8 reserved bytes, info hash, peer id', () => {
  const h = { reserved: encodeReserved({ extended: true, fast: true, dht: true }), infoHash: new Uint8Array(20).fill(1), peerId: ascii('-bs0100-xxxxxxxxxxxx') }
  const bytes = encodeHandshake(h)
  assert.equal(bytes.length, 68)
  assert.equal(bytes[0], 19)
  assert.equal(Buffer.from(bytes.subarray(1, 20)).toString(), 'BitTorrent protocol')
  assert.deepEqual(plain(decodeHandshake(bytes)), plain(h))
})

test('BEP 10 / BEP 6 / BEP 5 reserved bits: reserved[5] & 0x10, reserved[7] & 0x04, reserved[7] & 0x01', () => {
  assert.deepEqual(Array.from(encodeReserved({ extended: true, fast: false, dht: false })), [0, 0, 0, 0, 0, 0x10, 0, 0])
  assert.deepEqual(Array.from(encodeReserved({ extended: false, fast: true, dht: true })), [0, 0, 0, 0, 0, 0, 0, 0x05])
  assert.deepEqual(decodeReserved(Uint8Array.from([0xff, 0, 0, 0, 0, 0x10, 0, 0x04])), { extended: true, fast: true, dht: false })
})

/**
 * Two-letter Azureus-style codes taken by other clients: BEP 20's list, libtorrent's
 * identify_client and Transmission's clients.cc (codes are case-sensitive in all three).
 */
const TAKEN_CODES = ('7T AB AG AR AT AV AX AZ A~ BB BC BE BF BG BH BI BL BM BN BO BP BR BS BT BU BW BX CD CT DE DP EB ES FC FD FG FL FT FW FX ' +
  'G3 GR GS HK HL HN IL KC KG KT LC LH LK LP LT LW MG MK ML MO MP MR MT NE NX OS OT PD PI QD QT RS RT RZ SB SD SK SM SN SP SS ST SZ S~ ' +
  'TB TL TN TR TS TT UE UL UM UT UW VG WD WS WT WW WY XC XF XL XS XT XX ZO ZT bk lt pX pb qB st').split(' ')

test('our peer id is Azureus style -bs0100-, decodes to bt-stream, and no known client uses its code (BEP 20)', () => {
  const id = generatePeerId()
  assert.equal(id.length, 20)
  assert.equal(Buffer.from(id.subarray(0, 8)).toString(), '-bs0100-')
  assert.ok(!TAKEN_CODES.includes(CLIENT_CODE), `${CLIENT_CODE} is another client's code`)
  assert.equal(clientFromPeerId(ascii('-BS0100-xxxxxxxxxxxx'))?.name, 'BTSlave', 'upper case BS is BTSlave, not us')
  assert.deepEqual(clientFromPeerId(id), { name: 'bt-stream', version: '0.1.0.0', style: 'azureus' })
  assert.notDeepEqual(generatePeerId(), id, 'random after the prefix')
})

test('peer id → client: Azureus-style, Shadow-style and Mainline codes', () => {
  const cases: Array<[string, string | undefined, string?]> = [
    ['-qB4650-abcdefghijkl', 'qBittorrent', '4.6.5.0'],
    ['-TR4060-abcdefghijkl', 'Transmission', '4.0.6.0'],
    ['-UT355W-abcdefghijkl', 'µTorrent', '3.5.5.W'],
    ['-lt0D80-abcdefghijkl', 'libTorrent (Rakshasa)'],
    ['-LT2000-abcdefghijkl', 'libtorrent (Rasterbar)'],
    ['-DE13F0-abcdefghijkl', 'Deluge'],
    ['-AZ5770-abcdefghijkl', 'Vuze'],
    ['-WW0207-abcdefghijkl', 'WebTorrent', '0.2.0.7'],
    ['-ZZ1000-abcdefghijkl', 'unknown client "ZZ"'],
    ['S58B-----abcdefghijk', 'Shadow', '5.8.11'],
    ['T03I--00abcdefghijkl', 'BitTornado', '0.3.18'],
    ['M4-3-6--abcdefghijkl', 'Mainline', '4.3.6'],
    ['abcdefghijklmnopqrst', undefined],
    ['Sxyzwvabcdefghijklmn', undefined]
  ]
  for (const [id, name, version] of cases) {
    const c = clientFromPeerId(ascii(id))
    assert.equal(c?.name, name, id)
    if (version !== undefined) assert.equal(c?.version, version, id)
  }
})

test('BEP 10: the extension handshake round-trips; unknown keys and wrong types are ignored', () => {
  const h = { m: { ut_metadata: 3, ut_pex: 0 }, v: 'bt-stream 0.1.0', p: 6881, reqq: 250, metadataSize: 31235, yourip: Uint8Array.from([10, 0, 0, 1]) }
  assert.deepEqual(plain(decodeExtendedHandshake(encodeExtendedHandshake(h))), plain(h))
  const odd = decodeExtendedHandshake(ascii('d1:md11:ut_metadatai3e3:badli1eee1:pi0e4:reqq3:abc1:xi1ee'))
  assert.deepEqual(plain(odd), { m: { ut_metadata: 3 } })
  assert.deepEqual(plain(decodeExtendedHandshake(ascii('de'))), { m: {} }, 'every item is optional')
})

test('BEP 10: a payload that is not a bencoded dictionary is a ProtocolError', () => {
  for (const bad of ['', 'd1:m', 'i3e', 'd1:mi3ee', 'd1:m']) {
    assert.throws(() => decodeExtendedHandshake(ascii(bad)), ProtocolError, bad)
  }
  // A "__proto__" key is refused by the bounded decoder (lib/bencode/scan.ts): no real client sends one.
  assert.throws(() => decodeExtendedHandshake(ascii('d1:md9:__proto__i5eee')), ProtocolError)
})
