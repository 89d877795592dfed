/**
 * A logging TCP proxy for the real-client interop tests (`INTEROP_WIRE_LOG=1`): put between
 * bt-stream and a client, it forwards every byte unchanged and writes down what each side sent
 * (the BEP 3 handshake's reserved bits and peer id, then each message by name and length, with
 * the time since the connection opened). Requests, pieces and haves are counted, with the first
 * few and every 100th written, so the trace of a whole download stays short; the log keeps its
 * last LOG_TAIL_CHARS. A failing case then says what the client sent, not only what it logged.
 * Loopback only; closed in t.after by the caller.
 */
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { TailLog } from '../../interop/proc.js'

/** BEP 3 (0-9), BEP 6 (13-17), BEP 10 (20) message ids. */
const NAMES: Record<number, string> = {
  0: 'choke', 1: 'unchoke', 2: 'interested', 3: 'not interested', 4: 'have', 5: 'bitfield', 6: 'request', 7: 'piece', 8: 'cancel', 9: 'port',
  13: 'suggest', 14: 'have all', 15: 'have none', 16: 'reject', 17: 'allowed fast', 20: 'extended'
}
/** Messages a download sends by the thousand: counted, and written only now and then. */
const FREQUENT = new Set([4, 6, 7, 16])
const WRITE_FIRST = 3
const WRITE_EVERY = 100
/** BEP 3 handshake: <19><"BitTorrent protocol"><8 reserved><20 info hash><20 peer id>. */
const HANDSHAKE_LENGTH = 68
/** A length prefix beyond this is not a message we can show: stop parsing that direction. */
const MAX_MESSAGE = 1024 * 1024 + 64

export class WireLogProxy {
  private readonly trace = new TailLog()
  private readonly sockets = new Set<net.Socket>()
  private connections = 0

  private constructor (private readonly server: net.Server, readonly host: string, readonly port: number) {}

  /** Listens on `host` (a free port) and forwards each connection to `target`. */
  static async start (target: { host: string, port: number }, host = '127.0.0.1'): Promise<WireLogProxy> {
    const server = net.createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, host, resolve)
    })
    const proxy = new WireLogProxy(server, host, (server.address() as AddressInfo).port)
    server.on('connection', socket => proxy.forward(socket, target))
    return proxy
  }

  log (): string { return this.trace.toString() }

  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private forward (inbound: net.Socket, target: { host: string, port: number }): void {
    const n = ++this.connections
    const opened = Date.now()
    const write = (line: string): void => { this.trace.append(`[${n} +${((Date.now() - opened) / 1000).toFixed(2)}s] ${line}\n`) }
    write(`accepted from ${inbound.remoteAddress ?? '?'}:${inbound.remotePort ?? '?'}, dialing ${target.host}:${target.port}`)
    const outbound = net.connect(target.port, target.host)
    for (const s of [inbound, outbound]) {
      this.sockets.add(s)
      s.on('error', err => write(`${s === inbound ? 'dialer' : 'target'} socket error: ${err.message}`))
      s.on('close', () => { this.sockets.delete(s) })
    }
    const dialerSays = describer(line => write(`dialer -> ${line}`))
    const targetSays = describer(line => write(`target -> ${line}`))
    // pipe() keeps backpressure: a side that does not read slows the other, as without us.
    inbound.on('data', (chunk: Buffer) => dialerSays(chunk))
    outbound.on('data', (chunk: Buffer) => targetSays(chunk))
    inbound.pipe(outbound)
    outbound.pipe(inbound)
    inbound.on('close', () => { write('dialer closed'); outbound.destroy() })
    outbound.on('close', () => { write('target closed'); inbound.destroy() })
  }
}

/** A parser of one direction's bytes that writes a line per message (frequent ones sampled). */
function describer (write: (line: string) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0)
  let handshaken = false
  let gaveUp = false
  const counts = new Map<number, number>()
  return chunk => {
    if (gaveUp) return
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
    if (!handshaken) {
      if (buf[0] !== 19) {
        write(`${buf.length} bytes that are not a BitTorrent handshake (MSE?): ${buf.subarray(0, 16).toString('hex')}...`)
        gaveUp = true
        return
      }
      if (buf.length < HANDSHAKE_LENGTH) return
      write(`handshake, reserved ${buf.subarray(20, 28).toString('hex')}, peer id ${JSON.stringify(buf.subarray(48, 68).toString('latin1'))}`)
      buf = buf.subarray(HANDSHAKE_LENGTH)
      handshaken = true
    }
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0)
      if (len > MAX_MESSAGE) {
        write(`a length prefix of ${len}: not parsed further`)
        gaveUp = true
        return
      }
      if (buf.length < 4 + len) return
      if (len === 0) {
        write('keep-alive')
      } else {
        const id = buf[4] ?? -1
        const name = NAMES[id] ?? `unknown id ${id}`
        const count = (counts.get(id) ?? 0) + 1
        counts.set(id, count)
        if (!FREQUENT.has(id)) write(`${name} (${len - 1} bytes)${id === 20 ? ` ext ${buf[5] ?? '?'}` : ''}`)
        else if (count <= WRITE_FIRST || count % WRITE_EVERY === 0) write(`${name} #${count}${len >= 13 ? ` index ${buf.readUInt32BE(5)} begin ${buf.readUInt32BE(9)}` : ''}`)
      }
      buf = buf.subarray(4 + len)
    }
  }
}
