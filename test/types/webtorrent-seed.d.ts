// What the seeding interop tests and bench use of webtorrent@3 beyond test/types/webtorrent.d.ts.
declare module 'webtorrent' {
  interface WebTorrentOptions {
    /** 0: plaintext. The default 1 opens every outgoing connection with MSE/PE, never plaintext. */
    secure?: 0 | 1 | 2
  }
  interface AddOptions {
    /** Pieces webtorrent caches in front of `store` (0: none). */
    storeCacheSlots?: number
  }
}
