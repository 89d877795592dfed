import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseArgs } from '../../lib/cli/args.js'
import { SWARM_OPTIONS, swarmOptions } from '../../lib/cli/swarm-args.js'
import { UsageError } from '../../lib/util/errors.js'

test('CLI: --encryption prefer|require|off reaches the swarm options; default prefer; anything else is a usage error', () => {
  const opts = (...argv: string[]) => swarmOptions(parseArgs([...argv, 'x.torrent'], SWARM_OPTIONS))
  assert.equal(opts().encryption, 'prefer')
  assert.equal(opts('--encryption', 'require').encryption, 'require')
  assert.equal(opts('--encryption=off').encryption, 'off')
  assert.throws(() => opts('--encryption', 'rc4'), UsageError)
})
