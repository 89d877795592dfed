import type { Readable } from 'node:stream'
import { parseMagnet } from '../../magnet/parse.js'
import { parseTorrent } from '../../metainfo/parse.js'
import { readInput } from '../read-input.js'
import { parseHostPort, type PeerAddress } from '../../tracker/compact.js'
import { parseArgs, optionSeconds, type OptionSpec } from '../args.js'
import type { Command } from '../io.js'
import { UsageError } from '../../util/errors.js'
import { connect } from '../../wire/connect.js'
import type { ExtendedHandshake } from '../../wire/extended-handshake.js'
import { toHex } from '../../wire/handshake.js'
import type { PeerConnection, PeerHandshake } from '../../wire/peer-connection.js'

const HELP = `usage: bt-stream handshake <infohash-hex | torrent> <ip:port> [options]

Connects to one peer, does the BitTorrent handshake (BEP 3) and the extension handshake
(BEP 10), and prints the peer's id, the client it names, its reserved bits and its extension
handshake.

options:
  --timeout <s>   connect, handshake and extension-handshake timeout, in seconds (default 10)
  --json          print one JSON object
  -h, --help      this help
`

/** Long enough for a peer across the world on a bad link; short enough to wait for at a prompt. */
const DEFAULT_TIMEOUT_MS = 10_000

const OPTIONS: readonly OptionSpec[] = [
  { long: 'json', value: false },
  { long: 'timeout', value: true },
  { long: 'help', short: 'h', value: false }
]

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, OPTIONS)
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  if (args.positionals.length !== 2) throw new UsageError('handshake needs <infohash-hex | torrent> and <ip:port>')
  const [target, address] = args.positionals as [string, string]
  const timeout = optionSeconds(args, 'timeout', 0.1, 600) ?? DEFAULT_TIMEOUT_MS
  const infoHash = await loadInfoHash(target, io.stdin)
  const { host, port } = parseAddress(address)

  const conn = await connect({ host, port, infoHash, connectTimeout: timeout, handshakeTimeout: timeout, signal: io.signal })
  try {
    const hs = conn.peerHandshake as PeerHandshake
    const ext = await extensionHandshake(conn, timeout)
    if (args.options.has('json')) io.stdout.write(JSON.stringify(toJson(hs, ext)) + '\n')
    else io.stdout.write(toText(hs, ext))
    return 0
  } finally {
    conn.destroy()
  }
}

/** A 40-hex info hash, a magnet URI, or a .torrent file (`-` for stdin). */
async function loadInfoHash (arg: string, stdin: Readable): Promise<Uint8Array> {
  if (/^[0-9a-fA-F]{40}$/.test(arg)) return Uint8Array.from(Buffer.from(arg, 'hex'))
  if (/^magnet:/i.test(arg)) return parseMagnet(arg).infoHash
  return parseTorrent(await readInput(arg, stdin)).infoHash
}

/** `1.2.3.4:6881`, `[::1]:6881` or `host:6881`. */
export function parseAddress (s: string): PeerAddress {
  const addr = parseHostPort(s)
  if (addr === undefined) throw new UsageError(`"${s}" is not an ip:port address`)
  return addr
}

/** The peer's BEP 10 handshake, if it speaks BEP 10 and sends one within the timeout. */
async function extensionHandshake (conn: PeerConnection, timeout: number): Promise<ExtendedHandshake | undefined> {
  if (!conn.extendedEnabled) return undefined
  if (conn.peerExtendedHandshake !== undefined) return conn.peerExtendedHandshake
  return await new Promise((resolve) => {
    const done = (h: ExtendedHandshake | undefined): void => {
      clearTimeout(timer)
      conn.off('extended-handshake', done)
      resolve(h)
    }
    const timer = setTimeout(() => done(undefined), timeout)
    conn.on('extended-handshake', done)
    // Also when it closed already (a protocol error right behind the handshake).
    conn.whenClosed(() => { done(undefined) })
    conn.resume() // read (and drop) what comes before it: the handshake arrives on the message stream
  })
}

function printable (id: Uint8Array): string {
  return Array.from(id, b => b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.').join('')
}

function reservedNames (hs: PeerHandshake): string[] {
  const names: string[] = []
  if (hs.extensions.extended) names.push('extension protocol (BEP 10)')
  if (hs.extensions.fast) names.push('fast extension (BEP 6)')
  if (hs.extensions.dht) names.push('DHT (BEP 5)')
  return names
}

function extToJson (ext: ExtendedHandshake): Record<string, unknown> {
  const out: Record<string, unknown> = { m: { ...ext.m } }
  if (ext.v !== undefined) out.v = ext.v
  if (ext.p !== undefined) out.p = ext.p
  if (ext.reqq !== undefined) out.reqq = ext.reqq
  if (ext.metadataSize !== undefined) out.metadata_size = ext.metadataSize
  if (ext.yourip !== undefined) out.yourip = formatIp(ext.yourip)
  return out
}

function formatIp (b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.')
  const words: string[] = []
  for (let i = 0; i < 16; i += 2) words.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16))
  return words.join(':')
}

function toJson (hs: PeerHandshake, ext: ExtendedHandshake | undefined): Record<string, unknown> {
  return {
    infoHash: toHex(hs.infoHash),
    peerId: toHex(hs.peerId),
    peerIdText: printable(hs.peerId),
    client: hs.client === undefined ? null : { name: hs.client.name, version: hs.client.version },
    reserved: toHex(hs.reserved),
    extensions: hs.extensions,
    extendedHandshake: ext === undefined ? null : extToJson(ext)
  }
}

function toText (hs: PeerHandshake, ext: ExtendedHandshake | undefined): string {
  const lines = [
    `peer id    ${toHex(hs.peerId)}  "${printable(hs.peerId)}"`,
    `client     ${hs.client === undefined ? 'unknown' : `${hs.client.name} ${hs.client.version}`}`,
    `reserved   ${toHex(hs.reserved)}  ${reservedNames(hs).join(', ') || 'no extensions'}`
  ]
  if (ext === undefined) lines.push(`extension handshake  ${hs.extensions.extended ? 'none received' : 'not supported'}`)
  else {
    lines.push('extension handshake')
    const j = extToJson(ext)
    const m = Object.entries(ext.m).map(([k, v]) => `${k}=${v}`).join(', ')
    lines.push(`  m        ${m === '' ? '(none)' : m}`)
    for (const [k, v] of Object.entries(j)) if (k !== 'm') lines.push(`  ${k.padEnd(8)} ${String(v)}`)
  }
  return lines.join('\n') + '\n'
}
