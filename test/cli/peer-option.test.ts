import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseArgs } from '../../lib/cli/args.js'
import { dhtOptions, peersOption, SWARM_OPTIONS } from '../../lib/cli/swarm-args.js'

test('--peer is repeatable: every one given is dialed, each may be a comma list (not only the last)', () => {
  const args = parseArgs(['x.torrent', '--peer', '127.0.0.1:1', '--peer', '127.0.0.2:2,[::1]:3', '--peer', 'localhost:4'], SWARM_OPTIONS)
  assert.deepEqual(peersOption(args).map(p => `${p.host}:${p.port}`), ['127.0.0.1:1', '127.0.0.2:2', '::1:3', 'localhost:4'])
  assert.deepEqual(peersOption(parseArgs(['x.torrent'], SWARM_OPTIONS)), [])
})

test('--dht-bootstrap is repeatable the same way: every node given is a bootstrap node', () => {
  const args = parseArgs(['x.torrent', '--dht-bootstrap', '127.0.0.1:6881', '--dht-bootstrap', '127.0.0.2:6882,127.0.0.3:6883'], SWARM_OPTIONS)
  const dht = dhtOptions(args, false)
  assert.deepEqual(dht.dhtBootstrap, ['127.0.0.1:6881', '127.0.0.2:6882', '127.0.0.3:6883'])
  assert.equal(dht.dht, true)
  assert.equal(dhtOptions(parseArgs(['x.torrent'], SWARM_OPTIONS), false).dht, 'fallback')
})
