// The interop cells against webtorrent (see interop/harness.ts): both directions, single and multi-file,
// stdout and -o. Skipped, with the package to install, when webtorrent is not here.
import { webtorrent } from '../../interop/clients/webtorrent.js'
import { interopTests } from '../../interop/node-test.js'

interopTests(webtorrent)
