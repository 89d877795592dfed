import { test } from 'node:test'
import { transmission } from '../../interop/clients/transmission.js'
import { interopCases } from './real-clients-helpers.js'

// bt-stream against Transmission, both directions, single- and multi-file: see
// real-clients-helpers.ts and interop/clients/transmission.ts for the loopback settings. Each case
// takes 15-20 s: Transmission decides interest and unchokes only at its rechoke, every 10 s, so
// this file stays at these six (~2 min). `new TransmissionClient({ encryption: 'required' })`
// passed the single-file cases (MSE) by hand; rtorrent.test.ts covers MSE both ways.
interopCases(test, transmission)
