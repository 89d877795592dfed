import { test } from 'node:test'
import { ctorrent } from '../../interop/clients/ctorrent.js'
import { interopCases } from './real-clients-helpers.js'

// bt-stream against ctorrent, both directions, single- and multi-file: see real-clients-helpers.ts
// and interop/clients/ctorrent.ts for the loopback settings.
interopCases(test, ctorrent)
