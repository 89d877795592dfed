// The interop cells against aria2c (see interop/harness.ts): both directions, single and multi-file,
// stdout and -o. Skipped, with the package to install, when aria2c is not here.
import { aria2c } from '../../interop/clients/aria2c.js'
import { interopTests } from '../../interop/node-test.js'

interopTests(aria2c)
