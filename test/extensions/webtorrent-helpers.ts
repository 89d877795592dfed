import WebTorrent, { type Torrent, type WebTorrentOptions } from 'webtorrent'
import { within } from '../wire/helpers.js'

// secure 0: we do not speak MSE (protocol encryption), so webtorrent must dial in plaintext.
export const WT_OPTS = { dht: false, lsd: false, utp: false, utPex: false, natUpnp: false, natPmp: false, webSeeds: false, tracker: false, secure: 0 } as const

/** A webtorrent client seeding `content`, listening on an ephemeral port; no DHT, LSD, trackers or NAT (and no PEX unless `opts` says). */
export async function webtorrentSeeder (content: Uint8Array, pieceLength: number, opts: WebTorrentOptions = {}): Promise<{ client: WebTorrent, torrent: Torrent, port: number }> {
  const client = new WebTorrent({ ...WT_OPTS, ...opts })
  client.on('error', () => {})
  const torrent = await within(10_000, 'webtorrent seed', new Promise<Torrent>((resolve) => { client.seed(Buffer.from(content), { name: 'interop.bin', pieceLength }, resolve) }))
  if (!client.listening) await within(5000, 'webtorrent listening', new Promise<void>((resolve) => { client.on('listening', resolve) }))
  return { client, torrent, port: client.torrentPort }
}

