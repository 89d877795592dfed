import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DhtNode, parseBootstrapNode } from '../../lib/dht/dht-node.js'
import type { PeerAddress } from '../../lib/tracker/compact.js'
import { UsageError } from '../../lib/util/errors.js'
import { within } from '../wire/helpers.js'
import { privateDht } from './helpers.js'

const HASH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex')
const OTHER = Buffer.from('89abcdef0123456789abcdef0123456789abcdef', 'hex')

test('BEP 5: our node finds the peer another node announced, on a private loopback DHT', async (t) => {
  const net = await privateDht()
  let ours: DhtNode | undefined
  try {
    // A plain bittorrent-dht node announces that TCP port 40001 serves HASH.
    await within(10_000, 'raw announce', new Promise<void>((resolve, reject) => { net.nodes[1]?.announce(HASH, 40001, (err) => { if (err === null) resolve(); else reject(err) }) }))
    ours = await DhtNode.start({ bootstrap: net.addrs, bindAddress: '127.0.0.1', queryTimeout: 10_000 })
    const found: PeerAddress[] = []
    const started = performance.now()
    const n = await within(15_000, 'findPeers', ours.findPeers({ infoHash: HASH }, (p) => found.push(p)))
    t.diagnostic(`DHT lookup on a 4-node loopback DHT: ${(performance.now() - started).toFixed(1)} ms, ${n} peer(s)`)
    assert.deepEqual(found, [{ host: '127.0.0.1', port: 40001 }])
    assert.equal(n, 1)
    assert.ok(ours.nodeCount >= 1)
    // Another info hash has no peers.
    const none: PeerAddress[] = []
    assert.equal(await within(15_000, 'findPeers other', ours.findPeers({ infoHash: OTHER }, (p) => none.push(p))), 0)
    assert.deepEqual(none, [])
  } finally {
    await ours?.destroy()
    await net.close()
  }
})

test('BEP 5: what our node announces, another of our nodes finds', async () => {
  const net = await privateDht()
  const seeder = await DhtNode.start({ bootstrap: net.addrs, bindAddress: '127.0.0.1', queryTimeout: 10_000 })
  const leecher = await DhtNode.start({ bootstrap: net.addrs, bindAddress: '127.0.0.1', queryTimeout: 10_000 })
  try {
    await within(15_000, 'announce', seeder.announce({ infoHash: OTHER }, 40002))
    const found: PeerAddress[] = []
    await within(15_000, 'findPeers', leecher.findPeers({ infoHash: OTHER }, (p) => found.push(p)))
    assert.deepEqual(found, [{ host: '127.0.0.1', port: 40002 }])
  } finally {
    await Promise.all([seeder.destroy(), leecher.destroy()])
    await net.close()
  }
})

test('BEP 27: a private torrent is never looked up or announced', async () => {
  const net = await privateDht()
  const queries: string[] = []
  for (const n of net.nodes) {
    n.on('get_peers', () => queries.push('get_peers'))
    n.on('announce', () => queries.push('announce'))
  }
  const ours = await DhtNode.start({ bootstrap: net.addrs, bindAddress: '127.0.0.1', queryTimeout: 5000 })
  try {
    const found: PeerAddress[] = []
    assert.equal(await ours.findPeers({ infoHash: HASH, private: true }, (p) => found.push(p)), 0)
    await ours.announce({ infoHash: HASH, private: true }, 40003)
    // A public lookup afterwards does reach the nodes: the counter above could have seen one.
    await within(10_000, 'public lookup', ours.findPeers({ infoHash: HASH }, () => {}))
    assert.ok(queries.includes('get_peers'))
    assert.deepEqual(found, [])
    assert.ok(!queries.includes('announce'))
  } finally {
    await ours.destroy()
    await net.close()
  }
})

test('DHT: an aborted lookup ends at once', async () => {
  const ours = await DhtNode.start({ bootstrap: ['127.0.0.1:9'], bindAddress: '127.0.0.1', queryTimeout: 20_000 })
  try {
    const ac = new AbortController()
    const lookup = ours.findPeers({ infoHash: HASH }, () => {}, { signal: ac.signal })
    ac.abort()
    assert.equal(await within(1000, 'aborted lookup', lookup), 0)
    assert.equal(await ours.findPeers({ infoHash: HASH }, () => {}, { signal: ac.signal }), 0)
  } finally {
    await ours.destroy()
  }
})

test('DHT: destroy ends a lookup in progress and is bounded; bad input is a UsageError', async () => {
  // Bootstrap to a loopback port nobody answers: the lookup would wait on timeouts.
  const ours = await DhtNode.start({ bootstrap: ['127.0.0.1:9'], bindAddress: '127.0.0.1', queryTimeout: 20_000 })
  const lookup = ours.findPeers({ infoHash: HASH }, () => {})
  await within(5000, 'destroy', ours.destroy())
  assert.equal(await within(1000, 'lookup ended', lookup), 0)
  await assert.rejects(ours.findPeers({ infoHash: new Uint8Array(5) }, () => {}), UsageError)
  await assert.rejects(ours.announce({ infoHash: HASH }, 40004), /destroyed/)
  assert.deepEqual(parseBootstrapNode('[::1]:6881'), { host: '::1', port: 6881 })
  assert.deepEqual(parseBootstrapNode('router.bittorrent.com:6881'), { host: 'router.bittorrent.com', port: 6881 })
  for (const bad of ['nohost', '1.2.3.4:0', '1.2.3.4:70000', '::1:6881']) assert.throws(() => parseBootstrapNode(bad), UsageError, bad)
})
