/**
 * The last stage before a byte sink (stdout) when the download lends its piece memory (the
 * merger's lend mode): each chunk is written to `target`, and once `target` says the write
 * completed (its callback: the kernel has the bytes, or the sync file write returned), the
 * chunk's bytes are given back so the engine can put the next piece in that memory. Saves the
 * copy of every byte, and the garbage those copies were.
 *
 * One batch at a time: the next waits for the previous one's callback, so `target` never holds
 * more than one batch of lent bytes on top of its own buffer.
 */
import { Writable } from 'streamx'

export function lendingWriter (target: NodeJS.WritableStream, giveBack: (bytes: number) => void): Writable {
  return new Writable({
    byteLength: (chunk: unknown) => (chunk as Uint8Array).byteLength,
    writev (batch: unknown[], cb: (err: Error | null) => void): void {
      let bytes = 0
      const last = batch.length - 1
      for (let i = 0; i < last; i++) {
        const chunk = batch[i] as Uint8Array
        bytes += chunk.byteLength
        target.write(chunk)
      }
      const chunk = batch[last] as Uint8Array
      bytes += chunk.byteLength
      // Node's streams call write callbacks in order: the last one means every chunk is out.
      target.write(chunk, (err?: Error | null) => {
        if (err !== undefined && err !== null) { cb(err); return }
        giveBack(bytes)
        cb(null)
      })
    }
  })
}
