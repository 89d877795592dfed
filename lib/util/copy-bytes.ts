/**
 * A copy of `bytes[from, to)` in memory of its own. Not `bytes.slice()`: on a Buffer (what sockets
 * and most of Node hand out) `slice` is a view that shares the memory, the one thing a copy must
 * not do.
 */
export function copyBytes (bytes: Uint8Array, from = 0, to = bytes.byteLength): Uint8Array<ArrayBuffer> {
  // slice always makes a new ArrayBuffer (never a SharedArrayBuffer), whatever `bytes` views.
  return Uint8Array.prototype.slice.call(bytes, from, to) as Uint8Array<ArrayBuffer>
}
