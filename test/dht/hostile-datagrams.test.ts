import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { decodeBencode, dictGet, isDict } from '../../lib/bencode/decode.js'
import { MAX_DHT_DATAGRAM_BYTES, type DroppedDatagrams } from '../../lib/dht/screened-socket.js'
import { Isolated } from '../bencode/isolated.js'
import { within } from '../wire/helpers.js'
import { privateDht } from './helpers.js'

const ISOLATED = new URL('./isolated-node.js', import.meta.url)
const text = (s: string): Buffer => Buffer.from(s, 'latin1')
/** The largest UDP payload over IPv4. */
const MAX_UDP_PAYLOAD = 65_507

/** A BEP 5 ping query from node id `id` with transaction id `t`. */
function ping (t: string, id: Buffer): Buffer {
  return Buffer.concat([text('d1:ad2:id20:'), id, text(`e1:q4:ping1:t${t.length}:${t}1:y1:qe`)])
}

/** A well-formed ping of exactly `size` bytes: an extra argument `x` carries the padding. */
function paddedPing (size: number): Buffer {
  const head = Buffer.concat([text('d1:ad2:id20:'), Buffer.alloc(20, 3)])
  const tail = text('e1:q4:ping1:t2:pp1:y1:qe')
  let pad = size - head.length - tail.length - '1:x'.length
  pad -= `${pad}:`.length
  const out = Buffer.concat([head, text(`1:x${pad}:`), Buffer.alloc(pad), tail])
  assert.equal(out.length, size)
  return out
}

/** Sends a ping from `socket` to 127.0.0.1:port and resolves with the responder's node id. */
async function pingNode (socket: dgram.Socket, port: number, t: string): Promise<Uint8Array> {
  return await new Promise<Uint8Array>((resolve) => {
    const onMessage = (msg: Buffer): void => {
      const reply = decodeBencode(msg)
      if (!isDict(reply)) return
      const tid = dictGet(reply, 't')
      const r = dictGet(reply, 'r')
      if (!(tid instanceof Uint8Array) || Buffer.from(tid).toString('latin1') !== t || !isDict(r)) return
      const id = dictGet(r, 'id')
      if (!(id instanceof Uint8Array)) return
      socket.off('message', onMessage)
      resolve(id)
    }
    socket.on('message', onMessage)
    socket.send(ping(t, Buffer.alloc(20, 7)), port, '127.0.0.1')
  })
}

test('BEP 5: hostile datagrams to our DHT port are dropped before the library decodes them, a library throw costs one datagram; the node still answers a ping', async (t) => {
  // One 5-byte datagram `l-3:e` once sent k-rpc-socket's bencode 2.0.3 into an endless loop that
  // allocated until Node aborted. Our node runs in a heap-limited worker and every wait has a
  // 10 s bound, so a regression fails here instead of hanging the suite.
  const net = await privateDht()
  t.after(async () => { await net.close() })
  const isolated = await Isolated.open(ISOLATED)
  t.after(async () => {
    await isolated.call('stop').catch(() => {})
    await isolated.close()
  })
  const started = await isolated.call<number>('start', [net.addrs])
  assert.ok(started.ok, 'our node started')
  const port = started.value
  const socket = dgram.createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  t.after(() => { socket.close() })

  // Before anything hostile: our node answers.
  assert.equal((await within(10_000, 'ping before', pingNode(socket, port, 'first'))).length, 20)

  const malformed: Record<string, Buffer> = {
    'l-3:e (5 bytes)': text('l-3:e'),
    'a query whose node id has length -3': text('d1:ad2:id-3:e1:q4:ping1:t2:aa1:y1:qe'),
    'a negative length at the top': text('-3:'),
    'a string longer than the datagram': text('d1:t99999:ab1:y1:qe'),
    'nesting 1400 lists deep': text('l'.repeat(1400)),
    'a float integer (bencode 2.0.3 would read i1.5e as 1)': text('d1:ti1.5e1:y1:qe'),
    'a __proto__ key': text('d9:__proto__d1:ai1eee'),
    'a valid message with trailing bytes': Buffer.concat([ping('zz', Buffer.alloc(20, 1)), text('xx')]),
    'one zero byte': Buffer.alloc(1)
  }
  const oversized: Record<string, Buffer> = {
    'a 64 KiB datagram of well-formed bencoding': text(`65000:${'a'.repeat(65_000)}`),
    'the largest datagram (65 507 bytes) of l-3:e repeated': Buffer.alloc(MAX_UDP_PAYLOAD, text('l-3:e')),
    [`a well-formed ping padded to ${MAX_DHT_DATAGRAM_BYTES + 1} bytes`]: paddedPing(MAX_DHT_DATAGRAM_BYTES + 1)
  }
  // Well-formed, but a field of the wrong type: bittorrent-dht 11 throws on these inside the
  // socket's 'message' event (Number#toString('hex')), which would be an uncaught exception.
  const id = 'x'.repeat(20)
  const wrongTypes: Record<string, Buffer> = {
    'get_peers with an integer info_hash': text(`d1:ad2:id20:${id}9:info_hashi5ee1:q9:get_peers1:t2:aa1:y1:qe`),
    'find_node with an integer target': text(`d1:ad2:id20:${id}6:targeti5ee1:q9:find_node1:t2:ab1:y1:qe`),
    'get (BEP 44) with an integer target': text(`d1:ad2:id20:${id}6:targeti5ee1:q3:get1:t2:ac1:y1:qe`),
    'ping with an integer node id': text('d1:ad2:idi5ee1:q4:ping1:t2:ad1:y1:qe'),
    'a query whose q is a list': text(`d1:ad2:id20:${id}e1:qle1:t2:ae1:y1:qe`)
  }
  for (const b of Object.values(oversized)) assert.ok(b.length > MAX_DHT_DATAGRAM_BYTES && b.length <= MAX_UDP_PAYLOAD)
  // One at a time, each followed by a ping: datagrams on one socket are read in order, so the
  // answer proves the hostile one was read (none is lost to a full receive buffer) and survived.
  const all = { ...malformed, ...oversized, ...wrongTypes }
  let n = 0
  for (const [name, b] of Object.entries(all)) {
    await new Promise<void>((resolve, reject) => socket.send(b, port, '127.0.0.1', err => { if (err === null) resolve(); else reject(err) }))
    const id = await within(10_000, `ping after ${name} (our node hung or died?)`, pingNode(socket, port, `p${n++}`))
    assert.equal(id.length, 20)
  }
  const counted = await isolated.call<DroppedDatagrams>('dropped')
  assert.ok(counted.ok)
  assert.equal(counted.value.malformed, Object.keys(malformed).length)
  assert.equal(counted.value.oversized, Object.keys(oversized).length)
  // How many of the wrong types make the library throw is its business; none may end the node.
  assert.ok(counted.value.failed <= Object.keys(wrongTypes).length, `failed: ${counted.value.failed}`)
  t.diagnostic(`dropped unread: ${counted.value.malformed} malformed, ${counted.value.oversized} oversized; the library threw on ${counted.value.failed} of ${Object.keys(wrongTypes).length} wrongly typed messages`)
})
