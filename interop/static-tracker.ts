/**
 * A tracker that answers every HTTP announce (BEP 3, compact peers of BEP 23) with the peers the
 * harness set for that info hash, and registers nobody. It is how a client with no "add peer"
 * option (aria2c) or one that does not dial loopback peers unless told (our seed for Transmission)
 * is made to dial exactly the peer under test: deterministic, no other peer, no announce order.
 * Bound to 127.0.0.1 only.
 */
import bencode from 'bencode'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { encodeCompactPeers, type PeerAddress } from '../lib/tracker/compact.js'

/** Clients re-announce this often (seconds): a first dial that failed is retried soon. */
export const ANNOUNCE_INTERVAL_S = 5

export class StaticTracker {
  private readonly peers = new Map<string, PeerAddress[]>()
  private server: http.Server | undefined
  private port = 0
  /** Announces seen, by hex info hash (for a failure message: did the client ask at all?). */
  readonly announces = new Map<string, number>()

  async listen (): Promise<void> {
    const server = http.createServer((req, res) => this.answer(req, res))
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', resolve)
    })
    this.port = (server.address() as AddressInfo).port
  }

  get url (): string { return `http://127.0.0.1:${this.port}/announce` }

  setPeers (infoHashHex: string, peers: readonly PeerAddress[]): void {
    this.peers.set(infoHashHex.toLowerCase(), [...peers])
  }

  async close (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  private answer (req: http.IncomingMessage, res: http.ServerResponse): void {
    const hash = infoHashOf(req.url ?? '')
    let body: Uint8Array
    if (hash === undefined) {
      body = bencode.encode({ 'failure reason': 'no info_hash' })
    } else {
      this.announces.set(hash, (this.announces.get(hash) ?? 0) + 1)
      const peers = this.peers.get(hash) ?? []
      body = bencode.encode({
        interval: ANNOUNCE_INTERVAL_S,
        'min interval': ANNOUNCE_INTERVAL_S,
        complete: peers.length,
        incomplete: 0,
        peers: Buffer.from(encodeCompactPeers(peers.filter(p => !p.host.includes(':'))))
      })
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  }
}

/** The info_hash query parameter as hex: raw bytes percent-encoded, so not URLSearchParams (UTF-8). */
function infoHashOf (url: string): string | undefined {
  const m = /[?&]info_hash=([^&]*)/.exec(url)
  if (m === null || m[1] === undefined) return undefined
  const bytes: number[] = []
  const s = m[1]
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && i + 2 < s.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(s.charCodeAt(i) & 0xff)
    }
  }
  return bytes.length === 20 ? Buffer.from(bytes).toString('hex') : undefined
}
