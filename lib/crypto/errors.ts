import { ProtocolError } from '../util/errors.js'

/**
 * The MSE/PE handshake failed: the peer closed or stalled inside it, or sent what the spec does
 * not allow. Costs that connection; a dialer under the 'prefer' policy may retry in plaintext.
 */
export class MseError extends ProtocolError {}
