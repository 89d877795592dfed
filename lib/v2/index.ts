/** BEP 52 (BitTorrent v2) below the engine: merkle trees, per-piece and per-block verification, hash messages. */
export * from './merkle.js'
export * from './piece-verifier.js'
export * from './hash-responder.js'
export * from './hash-requester.js'
export * from './file-tree-hashes.js'
export * from '../wire/hash-messages.js'
