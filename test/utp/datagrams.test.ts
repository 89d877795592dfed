import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DhtNode } from '../../lib/dht/dht-node.js'
import type { PeerAddress } from '../../lib/tracker/compact.js'
import type { UtpStream } from '../../lib/utp/stream-guard.js'
import { privateDht } from '../dht/helpers.js'
import { within } from '../wire/helpers.js'
import { openTransport, rawSocket, utpSkip } from './helpers.js'

const skip = utpSkip()
const HASH = Buffer.from('29292929292929292929292929292929292929ab', 'hex')

test('one UDP port for uTP and the DHT: a bencoded datagram comes out of transport.datagrams, replies go out from the same port, uTP works alongside', { skip }, async (t) => {
  const b = await openTransport()
  const a = await openTransport({ accept: false })
  const raw = await rawSocket()
  t.after(async () => { raw.close(); await a.close(); await b.close() })
  // A BEP 5 ping: 'd' (0x64) is not uTP version 1, so libutp leaves it.
  const ping = Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe')
  const got = new Promise<[Buffer, { address: string, port: number, size: number }]>((resolve) => b.datagrams.once('message', (m: Buffer, r: { address: string, port: number, size: number }) => resolve([m, r])))
  raw.send(ping, b.port, '127.0.0.1')
  const [msg, rinfo] = await within(5000, 'the DHT datagram', got)
  assert.ok(msg.equals(ping))
  assert.equal(rinfo.port, raw.port)
  assert.equal(rinfo.size, ping.length)
  const reply = new Promise<{ port: number }>((resolve) => raw.once('message', (_m, r) => resolve(r)))
  await new Promise<void>((resolve, reject) => b.datagrams.send(ping, 0, ping.length, raw.port, '127.0.0.1', (err) => err === null ? resolve() : reject(err)))
  assert.equal((await within(5000, 'the reply', reply)).port, b.port, 'sent from the uTP port')
  assert.equal(b.datagrams.address().port, b.port)
  // uTP on the same socket at the same time.
  const accepted = new Promise<UtpStream>((resolve) => b.once('connection', resolve))
  const s = await within(5000, 'uTP dial', a.dial('127.0.0.1', b.port))
  s.write('x')
  const inbound = await within(5000, 'accept', accepted)
  inbound.on('error', () => {})
  s.destroy()
  // The DHT letting go does not close the transport.
  await new Promise<void>((resolve) => b.datagrams.close(resolve))
  const again = await within(5000, 'uTP after the DHT closed', a.dial('127.0.0.1', b.port))
  again.destroy()
})

test('BEP 5 + BEP 29 on one port: a DhtNode over transport.datagrams announces and finds peers while uTP connections run on the same socket', { skip }, async (t) => {
  const net = await privateDht()
  const shared = await openTransport()
  const dialer = await openTransport({ accept: false })
  const seederDht = await DhtNode.start({ bootstrap: net.addrs, queryTimeout: 10_000, socket: shared.datagrams })
  const leecherDht = await DhtNode.start({ bootstrap: net.addrs, bindAddress: '127.0.0.1', queryTimeout: 10_000 })
  t.after(async () => {
    await Promise.all([seederDht.destroy(), leecherDht.destroy()])
    await net.close()
    await dialer.close()
    await shared.close()
  })
  assert.equal(seederDht.port, shared.port, 'the DHT speaks from the uTP port')
  await within(15_000, 'announce', seederDht.announce({ infoHash: HASH }, shared.port))
  const found: PeerAddress[] = []
  await within(15_000, 'findPeers', leecherDht.findPeers({ infoHash: HASH }, (p) => found.push(p)))
  assert.deepEqual(found, [{ host: '127.0.0.1', port: shared.port }])
  const s = await within(5000, 'uTP to the same port', dialer.dial('127.0.0.1', shared.port))
  s.destroy()
  assert.equal(seederDht.droppedDatagrams.malformed, 0, 'no uTP packet reached the DHT')
})
