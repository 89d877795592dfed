import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import type { Duplex } from 'node:stream'
import { dialEither } from '../../lib/utp/dial-policy.js'
import { loadUtpNative, UtpUnavailableError } from '../../lib/utp/native.js'
import { UtpTransport } from '../../lib/utp/transport.js'
import { connect as netConnect } from 'node:net'
import { within } from '../wire/helpers.js'

// No skip here: these run whether or not utp-native loads on this machine.

test('when the native module cannot load: a clear UtpUnavailableError (never a throw), and transports refuse to open with it', async () => {
  const missing = loadUtpNative('utp-native-that-is-not-installed')
  assert.ok(missing instanceof UtpUnavailableError)
  assert.match(missing.message, /uTP is unavailable: the optional package utp-native-that-is-not-installed \(libutp bindings\) could not be loaded/)
  assert.match(missing.message, /TCP still works/)
  assert.match(missing.message, /--no-utp/)
  assert.equal(loadUtpNative('utp-native-that-is-not-installed'), missing, 'the failure is cached, not retried on every dial')
  await assert.rejects(UtpTransport.open({ native: missing }), (err: Error) => err === missing)
})

test('a package that loads but is not utp-native is refused the same way', () => {
  const wrong = loadUtpNative('streamx')
  assert.ok(wrong instanceof UtpUnavailableError)
  assert.match(wrong.message, /does not export utp-native's UTP constructor/)
})

test('without uTP, a prefer-mode dial is a plain TCP dial and reaches a TCP peer', async (t) => {
  const server = createServer((s) => { s.on('error', () => {}); s.end('ok') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const dialed = await within(5000, 'dial', dialEither({
    mode: 'prefer',
    tcp: () => tcpDial(port),
    utp: undefined
  }))
  t.after(() => { dialed.stream.destroy() })
  assert.equal(dialed.transport, 'tcp')
})

test('--utp-only without uTP: the dial fails with a reason, TCP is not tried', async () => {
  let tcpTried = false
  await assert.rejects(dialEither({ mode: 'only', tcp: async () => { tcpTried = true; throw new Error('no') } }), /uTP only, and uTP is unavailable/)
  assert.equal(tcpTried, false)
})

function tcpDial (port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s: Socket = netConnect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.on('error', () => {}); resolve(s) })
    s.once('error', reject)
  })
}
