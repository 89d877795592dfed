/**
 * A TCP port nothing on this machine listens on now, for modes that must announce a port (BEP 3)
 * but accept no peer (`peers`, a download to stdout). Announcing the customary 6881 instead would
 * stand for a local client that does listen there: trackers key peers by address and port, so our
 * `stopped` would take that client's entry off the tracker, and its entry would read as ours.
 */
import { createServer } from 'node:net'

export async function unusedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, resolve)
  })
  const address = server.address()
  await new Promise<void>(resolve => server.close(() => resolve()))
  return typeof address === 'object' && address !== null ? address.port : 0
}
