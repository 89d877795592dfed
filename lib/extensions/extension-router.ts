import { EXTENSION_IDS, type ExtensionPeer } from './extension-ids.js'
import type { MetadataFetcher } from './metadata-fetcher.js'
import type { MetadataResponder } from './metadata-responder.js'
import type { PexTracker } from './pex-tracker.js'

/** The extension modules of one torrent; any may be absent (no fetcher once metadata is known). */
export interface ExtensionHandlers<C extends ExtensionPeer> {
  readonly fetcher?: MetadataFetcher<C> | undefined
  readonly responder?: MetadataResponder | undefined
  readonly pex?: PexTracker<C> | undefined
}

/**
 * Where the engine's reader sends an `extended` message (`{ type: 'extended', id, payload }`):
 * id 0 is the peer's BEP 10 handshake (PeerConnection already decoded it into
 * `conn.peerExtendedHandshake`), so the fetcher may now use the peer; the other ids are the ones
 * *we* advertised (EXTENSION_IDS). Returns false for an id we never advertised (BEP 10: ignore).
 */
export function routeExtended<C extends ExtensionPeer> (conn: C, id: number, payload: Uint8Array, h: ExtensionHandlers<C>): boolean {
  switch (id) {
    case 0:
      h.fetcher?.addPeer(conn)
      return true
    case EXTENSION_IDS.ut_metadata:
      h.fetcher?.onExtended(conn, payload)
      h.responder?.onExtended(conn, payload)
      return true
    case EXTENSION_IDS.ut_pex:
      h.pex?.onExtended(conn, payload)
      return true
    default:
      return false
  }
}
