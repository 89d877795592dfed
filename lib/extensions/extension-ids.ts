import type { OurExtensions } from '../wire/peer-connection-options.js'

/**
 * The BEP 10 message ids we ask peers to use when they send us an extension message: the `m`
 * dictionary of our extension handshake, `d1:md11:ut_metadatai1e6:ut_pexi2ee ...e`. A peer
 * sends ut_metadata to us as extended message 1 and ut_pex as 2; we send to a peer on the id
 * *it* chose (its `m`), which `peerExtensionId` reads.
 */
export const EXTENSION_IDS = {
  ut_metadata: 1,
  ut_pex: 2
} as const

export type ExtensionName = keyof typeof EXTENSION_IDS

export interface ExtensionsFor {
  /** Bytes of the info dict when we have it (BEP 9 `metadata_size`); omit while fetching it. */
  readonly metadataSize?: number
  /** Our TCP listen port (`p`). */
  readonly port?: number
  /** BEP 27: a private torrent gets no PEX (peers come only from its trackers). */
  readonly private?: boolean
}

/** The `extensions` option for PeerConnection / connect(): our `m` plus metadata_size and port. */
export function ourExtensions (opts: ExtensionsFor = {}): OurExtensions {
  const m: Record<string, number> = { ut_metadata: EXTENSION_IDS.ut_metadata }
  if (opts.private !== true) m.ut_pex = EXTENSION_IDS.ut_pex
  return {
    m,
    ...(opts.metadataSize === undefined ? {} : { metadataSize: opts.metadataSize }),
    ...(opts.port === undefined ? {} : { port: opts.port })
  }
}

/** What an extension module needs of a connection: the peer's BEP 10 handshake and a sender. */
export interface ExtensionPeer {
  readonly peerExtendedHandshake: { readonly m: Readonly<Record<string, number>>, readonly metadataSize?: number, readonly reqq?: number, readonly p?: number } | undefined
  /** Sends BEP 10 message `id` (the peer's id for the extension); false when backpressured. */
  extended (id: number, payload: Uint8Array): boolean
  readonly destroyed?: boolean
}

/** The id the peer wants extension `name` sent on, or undefined when it did not offer it (0 = disabled). */
export function peerExtensionId (conn: ExtensionPeer, name: ExtensionName): number | undefined {
  const m = conn.peerExtendedHandshake?.m
  if (m === undefined || !Object.hasOwn(m, name)) return undefined
  const id = m[name]
  return id !== undefined && id > 0 ? id : undefined
}
