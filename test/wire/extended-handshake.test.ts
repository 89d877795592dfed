import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeExtendedHandshake, encodeExtendedHandshake } from '../../lib/wire/extended-handshake.js'
import { Isolated } from '../bencode/isolated.js'

const MODULE = new URL('../../lib/wire/extended-handshake.js', import.meta.url)

test('BEP 10: an extension handshake round-trips through the bounded decoder', () => {
  const bytes = encodeExtendedHandshake({ m: { ut_metadata: 3, ut_pex: 0 }, v: 'bt-stream', p: 6881, reqq: 250, metadataSize: 31235 })
  const h = decodeExtendedHandshake(bytes)
  assert.deepEqual({ ...h.m }, { ut_metadata: 3, ut_pex: 0 })
  assert.equal(h.v, 'bt-stream')
  assert.equal(h.p, 6881)
  assert.equal(h.reqq, 250)
  assert.equal(h.metadataSize, 31235)
  // Bytes after the dictionary are ignored, as before: a peer's padding costs us nothing.
  assert.equal(decodeExtendedHandshake(Buffer.concat([bytes, Buffer.from('xyz')])).p, 6881)
})

test('BEP 10: a handshake payload with a negative string length is a ProtocolError, not an endless loop', async (t) => {
  // Each of these once sent the `bencode` package into a loop that allocated until Node aborted.
  // The decode runs in a worker with a small heap and a 10 s bound, so a regression fails here.
  const isolated = await Isolated.open(MODULE)
  t.after(async () => { await isolated.close() })
  const cases: Record<string, string> = {
    'a list holding a string of length -3': 'l-3:e',
    'a dict whose value is a string of length -3': 'd1:v-3:abce',
    'the m dict holding a list with a negative length': 'd1:md11:ut_metadatal-1:eeee',
    'a negative length as the whole payload': '-1:',
    'nesting 100 000 lists deep': 'l'.repeat(100_000)
  }
  for (const [name, payload] of Object.entries(cases)) {
    const r = await isolated.call('decodeExtendedHandshake', [new TextEncoder().encode(payload)])
    assert.equal(r.ok, false, `${name}: decoded`)
    if (r.ok) continue
    assert.equal(r.error.name, 'ProtocolError', name)
    assert.match(r.error.message, /^malformed extension handshake: invalid bencoding at byte \d+/, name)
  }
})
