import { printMetadataFetch } from './metadata-fetch.js'
import { printWireLoopback } from './wire-loopback.js'
import { printWireParser } from './wire-parser.js'
import { printSeedUpload } from './seed-upload.js'

/** `npm run bench`: every benchmark, numbers printed (never asserted: speed varies by machine). */
printWireParser(process.stdout)
await printWireLoopback(process.stdout)
await printSeedUpload(process.stdout)
await printMetadataFetch(process.stdout)
