/** BEP 9 (metadata from peers) and BEP 11 (peer exchange) over BEP 10: what the engine imports. */
export { EXTENSION_IDS, ourExtensions, peerExtensionId, type ExtensionName, type ExtensionPeer, type ExtensionsFor } from './extension-ids.js'
export { routeExtended, type ExtensionHandlers } from './extension-router.js'
export { MetadataFetcher, DEFAULT_MAX_METADATA_SIZE, type MetadataFetcherOptions } from './metadata-fetcher.js'
export { MetadataResponder, type MetadataResponderOptions } from './metadata-responder.js'
export { decodeUtMetadata, encodeUtMetadata, METADATA_PIECE_LENGTH, metadataPieceCount, metadataPieceLength, type UtMetadataMessage } from './ut-metadata-codec.js'
export { decodePex, encodePex, flagsFromByte, flagsToByte, PEX_FLAG, PEX_MAX_PER_MESSAGE, type DecodedPex, type PexFlags, type PexLimits, type PexMessage, type PexPeer } from './pex-codec.js'
export { PexTracker, PEX_INTERVAL, type PexContact, type PexTrackerOptions } from './pex-tracker.js'
