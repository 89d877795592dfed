import { createServer, type Server } from 'node:net'
import { EXTENSION_IDS, ourExtensions } from '../../lib/extensions/extension-ids.js'
import { routeExtended } from '../../lib/extensions/extension-router.js'
import type { MetadataFetcher } from '../../lib/extensions/metadata-fetcher.js'
import type { MetadataResponder } from '../../lib/extensions/metadata-responder.js'
import { acceptPeer, type OurExtensions, type PeerConnection } from '../../lib/wire/index.js'
import type { Message } from '../../lib/wire/messages.js'

/**
 * What the engine does with a connection, cut down to BEP 9: the one reader of its messages
 * routes extended messages (id 0: the peer's extension handshake, so the fetcher may use it;
 * our ut_metadata id: fetcher and responder), and tells the fetcher when the peer leaves.
 */
export function attach (conn: PeerConnection, parts: { fetcher?: MetadataFetcher<PeerConnection>, responder?: MetadataResponder }, ourId: number = EXTENSION_IDS.ut_metadata): void {
  conn.on('error', () => {})
  conn.on('close', () => { parts.fetcher?.removePeer(conn) })
  conn.on('data', (data: unknown) => {
    const m = data as Message
    if (m.type !== 'extended') return
    // Our own ids go through the router the engine uses; fake peers may advertise other ids.
    if (ourId === EXTENSION_IDS.ut_metadata) routeExtended(conn, m.id, m.payload, parts)
    else if (m.id === ourId) parts.responder?.onExtended(conn, m.payload)
  })
}

/** A loopback listener that serves one torrent's metadata with our responder, advertising `extensions`. */
export async function metadataSeeder (infoHash: Uint8Array, responder: MetadataResponder | undefined, extensions: OurExtensions): Promise<{ port: number, conns: PeerConnection[], close: () => Promise<void> }> {
  const conns: PeerConnection[] = []
  const server: Server = createServer((socket) => {
    socket.on('error', () => {})
    acceptPeer(socket, { accept: (ih) => Buffer.from(ih).equals(infoHash), extensions, handshakeTimeout: 5000 }).then((conn) => {
      conns.push(conn)
      attach(conn, responder === undefined ? {} : { responder }, extensions.m?.ut_metadata)
    }, () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  return {
    port: addr.port,
    conns,
    close: async () => {
      for (const c of conns) c.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

export { ourExtensions }
