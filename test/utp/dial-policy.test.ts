import assert from 'node:assert/strict'
import { PassThrough, type Duplex } from 'node:stream'
import { test } from 'node:test'
import { dialEither, type TransportDial } from '../../lib/utp/dial-policy.js'
import { PeerConnectError } from '../../lib/wire/connect.js'
import { within } from '../wire/helpers.js'

/** A fake transport dial: connects or fails after `ms`, records whether it was cancelled. */
function fake (ms: number, outcome: 'connect' | 'fail', code = 'ECONNREFUSED'): TransportDial<Duplex> & { started: boolean, aborted: boolean, stream: Duplex | undefined } {
  const f = Object.assign((signal: AbortSignal): Promise<Duplex> => {
    f.started = true
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (outcome === 'connect') { f.stream = new PassThrough(); resolve(f.stream) } else reject(new PeerConnectError(`fake ${code}`, { cause: Object.assign(new Error(code), { code }) }))
      }, ms)
      signal.addEventListener('abort', () => { f.aborted = true; clearTimeout(timer); reject(new PeerConnectError('aborted')) })
    })
  }, { started: false, aborted: false, stream: undefined as Duplex | undefined })
  return f
}

test('prefer: a peer answering TCP within the head start is reached over TCP; uTP is never dialed', async () => {
  const tcp = fake(10, 'connect')
  const utp = fake(1, 'connect')
  const d = await within(5000, 'dial', dialEither({ mode: 'prefer', tcp, utp, headStartMs: 200 }))
  assert.equal(d.transport, 'tcp')
  assert.equal(utp.started, false)
})

test('prefer: TCP refused (a uTP-only peer) -> uTP at once, without waiting the head start', async () => {
  const tcp = fake(5, 'fail')
  const utp = fake(5, 'connect')
  const started = Date.now()
  const d = await within(5000, 'dial', dialEither({ mode: 'prefer', tcp, utp, headStartMs: 3000 }))
  assert.equal(d.transport, 'utp')
  assert.ok(Date.now() - started < 2000, 'did not wait for the 3 s head start')
})

test('prefer: TCP silent past the head start -> uTP dialed alongside; the first to connect wins and the other is cancelled', async () => {
  const tcp = fake(10_000, 'connect')
  const utp = fake(5, 'connect')
  const d = await within(5000, 'dial', dialEither({ mode: 'prefer', tcp, utp, headStartMs: 50 }))
  assert.equal(d.transport, 'utp')
  assert.equal(tcp.aborted, true, 'the TCP dial was cancelled')
})

test('prefer: both fail -> TCP\'s own error, so the swarm classifies the peer by it (refused, MSE-only ...)', async () => {
  const utp = fake(5, 'fail', 'ETIMEDOUT')
  const err = await dialEither({ mode: 'prefer', tcp: fake(5, 'fail', 'ECONNREFUSED'), utp, headStartMs: 10 }).then(() => undefined, (e: Error) => e)
  assert.ok(err instanceof PeerConnectError)
  assert.equal(err.message, 'fake ECONNREFUSED')
  assert.equal(utp.started, true, 'uTP was tried')
})

test('off (--no-utp): TCP only, uTP never dialed even when TCP fails', async () => {
  const utp = fake(1, 'connect')
  await assert.rejects(dialEither({ mode: 'off', tcp: fake(5, 'fail'), utp, headStartMs: 1 }), /fake ECONNREFUSED/)
  assert.equal(utp.started, false)
})

test('only (--utp-only): uTP only, TCP never dialed', async () => {
  const tcp = fake(1, 'connect')
  const d = await dialEither({ mode: 'only', tcp, utp: fake(5, 'connect') })
  assert.equal(d.transport, 'utp')
  assert.equal(tcp.started, false)
})

test('the caller\'s abort cancels every dial in flight', async () => {
  const tcp = fake(10_000, 'connect')
  const utp = fake(10_000, 'connect')
  const ac = new AbortController()
  const p = dialEither({ mode: 'prefer', tcp, utp, headStartMs: 10, signal: ac.signal })
  await new Promise(resolve => setTimeout(resolve, 50))
  ac.abort()
  await assert.rejects(within(2000, 'abort', p), /aborted/)
  assert.equal(tcp.aborted && utp.aborted, true)
})

test('a transport that connects after the other won is destroyed, not leaked', async () => {
  const tcp = fake(60, 'connect')
  // uTP connects first, but its dial ignores the abort (as a real connect racing it might).
  const late = fake(80, 'connect')
  const lateIgnoringAbort: TransportDial<Duplex> = () => late(new AbortController().signal)
  const utp = fake(1, 'connect')
  const d = await dialEither({ mode: 'prefer', tcp: lateIgnoringAbort, utp, headStartMs: 10 })
  assert.equal(d.transport, 'utp')
  await new Promise(resolve => setTimeout(resolve, 150))
  assert.equal(late.stream?.destroyed, true)
  void tcp
})

test('prefer: after TCP was refused, uTP gets a few of those round trips (at least 0.5 s), not the full timeout: a dead peer fails fast, classified as refused', async () => {
  const utp = fake(60_000, 'connect')
  const started = Date.now()
  const err = await within(5000, 'dial', dialEither({ mode: 'prefer', tcp: fake(5, 'fail', 'ECONNREFUSED'), utp, headStartMs: 10_000 })).then(() => undefined, (e: Error) => e)
  assert.ok(err instanceof PeerConnectError)
  assert.equal(err.message, 'fake ECONNREFUSED')
  assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`)
  assert.equal(utp.aborted, true)
})
