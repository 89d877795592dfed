/**
 * The real clients `npm run interop` drives, in table order. Each driver implements
 * ./types.ts; a driver whose client is not installed reports why and its cells are skipped.
 */
import { aria2c } from './aria2c.js'
import { ctorrent } from './ctorrent.js'
import { libtorrent } from './libtorrent.js'
import { rtorrent } from './rtorrent.js'
import { transmission } from './transmission.js'
import type { InteropClient } from './types.js'
import { webtorrent } from './webtorrent.js'

export const CLIENTS: readonly InteropClient[] = [
  libtorrent,
  aria2c,
  transmission,
  rtorrent,
  ctorrent,
  webtorrent
]
