// uTP (BEP 29). Importing this loads nothing native: utp-native is loaded on the first transport.
export { UtpTransport, DEFAULT_MAX_INBOUND, DEFAULT_UTP_CONNECT_TIMEOUT, DEFAULT_FIRST_DATA_TIMEOUT, DEFAULT_SOCKET_BUFFER_BYTES, type UtpTransportOptions, type UtpDialOptions, type UtpTransportEvents } from './transport.js'
export { dialEither, DEFAULT_UTP_MODE, DEFAULT_UTP_HEAD_START_MS, type UtpMode, type Transport, type TransportDial, type Dialed } from './dial-policy.js'
export { loadUtpNative, UtpUnavailableError } from './native.js'
export { openSessionUtp, type UtpOptions } from './session.js'
export { DEFAULT_MAX_UNREAD_BYTES, type UtpStream } from './stream-guard.js'
export { UtpDatagrams } from './datagrams.js'
