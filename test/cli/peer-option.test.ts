import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseArgs } from '../../lib/cli/args.js'
import { peersOption, SWARM_OPTIONS } from '../../lib/cli/swarm-args.js'

test('--peer is repeatable: every one given is dialed, each may be a comma list (not only the last)', () => {
  const args = parseArgs(['x.torrent', '--peer', '127.0.0.1:1', '--peer', '127.0.0.2:2,[::1]:3', '--peer', 'localhost:4'], SWARM_OPTIONS)
  assert.deepEqual(peersOption(args).map(p => `${p.host}:${p.port}`), ['127.0.0.1:1', '127.0.0.2:2', '::1:3', 'localhost:4'])
  assert.deepEqual(peersOption(parseArgs(['x.torrent'], SWARM_OPTIONS)), [])
})
