/**
 * True when `bytes` is the whole of an ArrayBuffer of its own: it can be transferred to a worker
 * thread (postMessage's transfer list) or reused, without taking a neighbour's bytes along. A
 * slice of Node's shared 8 KiB pool, or a view into a larger buffer, is not.
 */
export function ownsItsMemory (bytes: Uint8Array): bytes is Uint8Array<ArrayBuffer> {
  return isWhole(bytes) && bytes.buffer instanceof ArrayBuffer
}

/**
 * True when `bytes` is the whole of a SharedArrayBuffer: a worker thread can read it in place
 * (postMessage shares it; nothing is moved, and nothing new comes back).
 */
export function ownsSharedMemory (bytes: Uint8Array): bytes is Uint8Array<SharedArrayBuffer> {
  return isWhole(bytes) && bytes.buffer instanceof SharedArrayBuffer
}

function isWhole (bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength
}
