/**
 * "No peer answered" says what the peers did (issue 10 item 10): each way a dial fails on the
 * wire is classified (lib/swarm/peer-outcome.ts), the pool counts each peer once by its last
 * outcome, and the stall message lists them.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { PeerPool, type PeerAddress } from '../../lib/swarm/peer-pool.js'
import { classifyDialError, describeOutcomes, type DialFailure } from '../../lib/swarm/peer-outcome.js'
import { stallError, type StallFacts } from '../../lib/swarm/stall.js'
import { ProtocolError } from '../../lib/util/errors.js'
import { connect, PeerConnectError, type PeerConnection } from '../../lib/wire/index.js'
import { encodeHandshake, HANDSHAKE_LENGTH } from '../../lib/wire/handshake.js'
import { SelfConnectionError } from '../../lib/wire/peer-connection.js'
import { within } from '../wire/helpers.js'
import { download } from '../../lib/session/download.js'
import { collect } from '../helpers.js'
import { makeTorrent } from './fixture-torrent.js'

const INFO_HASH = new Uint8Array(20).fill(0xab)
const OTHER_HASH = new Uint8Array(20).fill(0xcd)

/** A loopback listener whose every connection gets `behave(socket)`; closed after the test. */
async function listener (t: TestContext, behave: (s: Socket) => void): Promise<PeerAddress> {
  const sockets = new Set<Socket>()
  const server: Server = createServer(s => {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
    behave(s)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  return { host: '127.0.0.1', port: a.port }
}

/** A port nobody listens on: bound, then released. */
async function closedPort (): Promise<PeerAddress> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  await new Promise<void>(resolve => server.close(() => resolve()))
  return { host: '127.0.0.1', port: a.port }
}

/** After our handshake arrived: `then(socket)`. */
function afterHandshake (then: (s: Socket) => void): (s: Socket) => void {
  return s => {
    let got = 0
    s.on('data', (b: Buffer) => {
      const before = got
      got += b.length
      if (before < HANDSHAKE_LENGTH && got >= HANDSHAKE_LENGTH) then(s)
    })
  }
}

/** The hostile peers of the wire, one listener each, and what each must be classified as. */
const KINDS: Array<{ kind: DialFailure, what: string, behave: (s: Socket) => void }> = [
  // An MSE-only client (libtorrent with "require encryption", Transmission "encryption required")
  // reads our plaintext handshake, finds no DH key, and closes.
  { kind: 'closed-in-handshake', what: 'closes (FIN) after reading our handshake', behave: afterHandshake(s => s.end()) },
  { kind: 'closed-in-handshake', what: 'resets (RST) after reading our handshake', behave: afterHandshake(s => s.resetAndDestroy()) },
  { kind: 'wrong-torrent', what: 'answers for another info hash', behave: afterHandshake(s => s.write(encodeHandshake({ reserved: new Uint8Array(8), infoHash: OTHER_HASH, peerId: new Uint8Array(20).fill(7) }))) },
  { kind: 'not-bittorrent', what: 'answers with HTTP', behave: afterHandshake(s => s.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n' + ' '.repeat(40))) },
  { kind: 'handshake-timeout', what: 'stays silent', behave: () => {} }
]

async function dial (addr: PeerAddress, signal?: AbortSignal): Promise<PeerConnection> {
  return await connect({ ...addr, infoHash: INFO_HASH, handshakeTimeout: 500, connectTimeout: 5000, signal })
}

test('each way a dial fails on the wire is told apart: refused, closed or reset during the handshake, another torrent, not BitTorrent, silence', async (t) => {
  const refused = await closedPort()
  const err = await dial(refused).then(() => undefined, (e: Error) => e)
  assert.ok(err instanceof Error)
  assert.equal(classifyDialError(err), 'refused', err.message)
  for (const k of KINDS) {
    const addr = await listener(t, k.behave)
    const e = await within(10_000, k.what, dial(addr).then(c => { c.destroy(); return undefined }, (x: Error) => x))
    assert.ok(e instanceof Error, `${k.what}: the dial must fail`)
    assert.equal(classifyDialError(e), k.kind, `${k.what}: ${e.message}`)
  }
})

test('the wire\'s error messages and classes map to their outcome; an unknown one is "failed", never a throw', () => {
  const cases: Array<[Error, DialFailure]> = [
    [new ProtocolError('peer closed the connection during the handshake'), 'closed-in-handshake'],
    [new ProtocolError('connection closed during the handshake'), 'closed-in-handshake'],
    [new ProtocolError('closed during the handshake'), 'closed-in-handshake'],
    [new ProtocolError('connection closed before the handshake'), 'closed-in-handshake'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'closed-in-handshake'],
    [new ProtocolError(`peer answered for info hash ${'cd'.repeat(20)}, we asked for ${'ab'.repeat(20)}`), 'wrong-torrent'],
    [new ProtocolError('not a BitTorrent handshake (protocol string length 72)'), 'not-bittorrent'],
    [new ProtocolError('not a BitTorrent handshake (protocol string differs)'), 'not-bittorrent'],
    [new ProtocolError('no handshake within 20000 ms'), 'handshake-timeout'],
    [new PeerConnectError('cannot connect to 10.0.0.1:1: connect ECONNREFUSED', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }), 'refused'],
    [new PeerConnectError('cannot connect to 10.0.0.1:1: no answer within 10000 ms'), 'connect-timeout'],
    [new PeerConnectError('cannot connect to 10.0.0.1:1: connect EHOSTUNREACH', { cause: Object.assign(new Error('x'), { code: 'EHOSTUNREACH' }) }), 'unreachable'],
    [new SelfConnectionError('connected to ourselves (same peer id)'), 'ourselves'],
    [new Error('something new'), 'failed']
  ]
  for (const [err, kind] of cases) assert.equal(classifyDialError(err), kind, err.message)
})

test('the pool counts each peer once, by how its last attempt ended; connected peers are not counted', async (t) => {
  const fails = new Map<number, Error>([
    [1, new ProtocolError('peer closed the connection during the handshake')],
    [2, new ProtocolError('peer closed the connection during the handshake')],
    [3, new ProtocolError(`peer answered for info hash ${'cd'.repeat(20)}, we asked for ${'ab'.repeat(20)}`)]
  ])
  let dials = 0
  const conns: Array<{ destroy: () => void }> = []
  const pool = new PeerPool<{ destroy: () => void }>({
    maxPeers: 10,
    maxHalfOpen: 10,
    maxRetries: 2,
    retryBaseMs: 1,
    dial: async a => {
      dials++
      const e = fails.get(a.port)
      if (e !== undefined) throw e
      const c = { destroy: () => {} }
      conns.push(c)
      return c
    }
  })
  t.after(() => pool.close())
  for (const port of [1, 2, 3, 4]) pool.add({ host: '127.0.0.1', port }, 'tracker')
  // Retries (1 ms apart) run out: 3 failing peers × 3 attempts, plus the one that connects.
  await within(5000, 'retries', (async () => { while (dials < 10) await new Promise(resolve => setTimeout(resolve, 5)) })())
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.deepEqual({ ...pool.outcomes }, { 'closed-in-handshake': 2, 'wrong-torrent': 1 })
  // The connected one leaves without giving data; another is banned.
  pool.disconnected({ host: '127.0.0.1', port: 4 }, false)
  pool.ban({ host: '127.0.0.1', port: 3 }, 'bad data')
  const o = pool.outcomes
  assert.equal(o.banned, 1)
  assert.equal(o['closed-in-handshake'], 2)
  assert.equal(o.dropped, 1)
})

test('stall: every peer failed in the handshake: "no peer completed the handshake" and what they did', () => {
  const base: StallFacts = { idleMs: 61_000, limitMs: 60_000, connected: 0, choking: 0, known: 3, banned: 0, exhausted: false }
  assert.equal(stallError({ ...base, outcomes: { 'closed-in-handshake': 2, 'wrong-torrent': 1 } })!.message,
    'no peer completed the handshake within 60 s: 2 peers closed the connection during the handshake (they may require encryption), 1 answered for another torrent')
  assert.equal(stallError({ ...base, known: 1, outcomes: { refused: 1 } })!.message,
    'no peer completed the handshake within 60 s: 1 peer refused the connection')
  // Some did connect: "answered" then, with what became of them.
  assert.equal(stallError({ ...base, banned: 1, outcomes: { 'closed-in-handshake': 1, dropped: 1, banned: 1 } })!.message,
    'no peer answered within 60 s: 1 peer closed the connection during the handshake (they may require encryption), 1 closed the connection before sending any data, 1 banned for bad data')
  // Without outcomes (an engine that does not pass them) the message is the old count.
  assert.equal(stallError({ ...base, known: 4, banned: 1 })!.message, 'no peer answered (4 tried, 1 banned) within 60 s')
  assert.equal(describeOutcomes({}), '')
})

test('a pool dialing real hostile listeners ends with the stall message naming them', async (t) => {
  const closeAfter = await listener(t, afterHandshake(s => s.end()))
  const reset = await listener(t, afterHandshake(s => s.resetAndDestroy()))
  const other = await listener(t, afterHandshake(s => s.write(encodeHandshake({ reserved: new Uint8Array(8), infoHash: OTHER_HASH, peerId: new Uint8Array(20).fill(7) }))))
  let settled = 0
  const pool = new PeerPool<PeerConnection>({ maxPeers: 10, maxHalfOpen: 8, maxRetries: 0, retryBaseMs: 60_000, dial })
  t.after(() => pool.close())
  pool.on('dial-error', () => { settled++ })
  for (const a of [closeAfter, reset, other]) pool.add(a, 'tracker')
  await within(10_000, 'three dials fail', (async () => { while (settled < 3) await new Promise(resolve => setTimeout(resolve, 10)) })())
  const { known, banned } = pool.stats
  const err = stallError({ idleMs: 61_000, limitMs: 60_000, connected: 0, choking: 0, known, banned, exhausted: pool.exhausted, outcomes: pool.outcomes })
  assert.equal(err?.message, 'no peer completed the handshake within 60 s: 2 peers closed the connection during the handshake (they may require encryption), 1 answered for another torrent')
})

test('a download whose every peer closes during the handshake stalls with what they did, not "no peer answered (2 tried)"', async (t) => {
  const { meta } = makeTorrent({ length: 40_000, pieceLength: 16_384 })
  const fin = await listener(t, afterHandshake(s => s.end()))
  const rst = await listener(t, afterHandshake(s => s.resetAndDestroy()))
  const err = await within(30_000, 'the stall', collect(download(meta, { peers: [fin, rst], trackers: false, dht: false, stallTimeoutMs: 1000 })).then(() => undefined, (e: Error) => e))
  assert.equal(err?.message, 'no peer completed the handshake within 1 s: 2 peers closed the connection during the handshake (they may require encryption)')
})
