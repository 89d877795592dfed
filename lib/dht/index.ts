/** BEP 5 DHT: our node, over the bittorrent-dht package. */
export { DEFAULT_BOOTSTRAP, DhtError, DhtNode, parseBootstrapNode, type DhtNodeOptions, type TorrentRef } from './dht-node.js'
