// The interop cells against libtorrent (see interop/harness.ts): both directions, single and multi-file,
// stdout and -o. Skipped, with the package to install, when libtorrent is not here.
import { libtorrent } from '../../interop/clients/libtorrent.js'
import { interopTests } from '../../interop/node-test.js'

interopTests(libtorrent)
