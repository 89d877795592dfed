/** Seeding: what the engine and the CLI import. */
export { broadcastHave, type HaveTarget } from './have-broadcast.js'
export { Choker, DEFAULT_OPTIMISTIC_EVERY, DEFAULT_RECHOKE_INTERVAL_MS, DEFAULT_SLOTS, type ChokerOptions, type ChokerPeer, type ChokerTimer } from './choker.js'
export { DEFAULT_LISTENER_HANDSHAKE_TIMEOUT, DEFAULT_MAX_HANDSHAKING, PeerListener, type PeerListenerEvents, type PeerListenerOptions, type ServedTorrent } from './listener.js'
export { DEFAULT_MAX_PEERS, Seeder, type SeedGeometry, type SeederEvents, type SeederOptions } from './seeder.js'
export { Uploader, type PieceGeometry, type PieceReader, type RefusalReason, type UploadConnection, type UploaderEvents, type UploaderOptions } from './uploader.js'
