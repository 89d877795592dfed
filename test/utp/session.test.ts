import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { test } from 'node:test'
import { PeerListener } from '../../lib/seed/listener.js'
import { loadUtpNative, UtpUnavailableError } from '../../lib/utp/native.js'
import { openSessionUtp } from '../../lib/utp/session.js'
import { utpSkip } from './helpers.js'

const skip = utpSkip()
const missing = loadUtpNative('utp-native-that-is-not-installed')

test('a session\'s uTP: off opens nothing; utp-native missing is a warning under prefer, the error under only', async () => {
  assert.equal(await openSessionUtp({ utp: 'off' }), undefined)
  const warnings: string[] = []
  assert.equal(await openSessionUtp({ utp: 'prefer', onUtpWarning: (m) => warnings.push(m) }, { native: missing }), undefined)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0] as string, /uTP is unavailable/)
  await assert.rejects(openSessionUtp({ utp: 'only' }, { native: missing }), (err: Error) => err instanceof UtpUnavailableError)
})

test('a session\'s uTP binds the listener\'s port number and hands it inbound peers; that UDP port taken: a warning and a dial-only transport', { skip }, async (t) => {
  const listener = new PeerListener({ host: '127.0.0.1' })
  await listener.listen()
  t.after(() => listener.close())
  const utp = await openSessionUtp({}, { listener, host: '127.0.0.1' })
  t.after(() => utp?.close())
  assert.equal(utp?.port, listener.port)

  const other = new PeerListener({ host: '127.0.0.1' })
  await other.listen()
  t.after(() => other.close())
  const squatter = createSocket('udp4')
  await new Promise<void>((resolve) => squatter.bind(other.port, '127.0.0.1', resolve))
  t.after(() => { squatter.close() })
  const warnings: string[] = []
  const fallback = await openSessionUtp({ onUtpWarning: (m) => warnings.push(m) }, { listener: other, host: '127.0.0.1' })
  t.after(() => fallback?.close())
  assert.ok(fallback !== undefined)
  assert.notEqual(fallback.port, other.port)
  assert.match(warnings[0] ?? '', /no inbound uTP: cannot listen for uTP on UDP port \d+/)
})
