/** BEP 19 web seeds: HTTP(S) servers as sources in the same swarm (see README.md here). */
export { WebSeeds, startWebSeeds, webSeedAddress, type WebSeedEvent, type WebSeedState, type WebSeedsOptions, type WebSeedHost } from './web-seeds.js'
export { WebSeedPeer, WEB_SEED_REQQ, type WebSeedPeerOptions, type WebSeedStatus } from './web-seed-peer.js'
export { WebSeedError, fetchRange, parseContentRange, retryAfterMs, type WebSeedFailure } from './http-range.js'
export { usableWebSeeds, fileUrl } from './url.js'
