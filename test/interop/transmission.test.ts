import { test } from 'node:test'
import { transmission } from '../../interop/clients/transmission.js'
import { interopCases } from './real-clients-helpers.js'

// bt-stream against transmission, both directions, single- and multi-file: see real-clients-helpers.ts
// and interop/clients/transmission.ts for the loopback settings.
interopCases(test, transmission)
