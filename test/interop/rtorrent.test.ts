import { test } from 'node:test'
import { RtorrentClient } from '../../interop/clients/rtorrent.js'
import { interopCases } from './real-clients-helpers.js'

// bt-stream against rtorrent, both directions, single- and multi-file: see real-clients-helpers.ts
// and interop/clients/rtorrent.ts for the loopback settings.
interopCases(test, new RtorrentClient())
