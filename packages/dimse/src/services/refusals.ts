/**
 * The stable codes of the DimseServer's refusals that happen before any association is negotiated, so a listener's
 * every refusal can be counted (an A-ASSOCIATE-RJ has its own event, with its PS3.8 reason). Codes only: never an
 * address, an AE title or a byte of what the peer sent.
 *
 *   CONNECTION_LIMIT, PEER_CONNECTION_LIMIT   the transport connection closed at once: too many open, in all or
 *                                              from this address (maxConnections, maxConnectionsPerPeer)
 *   TLS_CLIENT_CERTIFICATE_REFUSED            no client certificate, or one the configured CA did not sign
 *   TLS_HANDSHAKE_FAILED, TIMEOUT_TLS_HANDSHAKE  no TLS session otherwise (not TLS at all, too slow)
 *   TIMEOUT_ARTIM, TIMEOUT_PDU, ...           no complete A-ASSOCIATE-RQ in time (ARTIM, a PDU trickled past pduMs)
 *   UL_UNRECOGNIZED_PDU, UL_PDU_TOO_LONG, UL_..., UNEXPECTED_PDU   a first PDU that is not a valid A-ASSOCIATE-RQ
 *
 * Example:
 *   association.whenEnded().then((end) => { const code = refusalBeforeAssociation(end); if (code) count(code); });
 */
import type { AssociationEnd } from '../upper-layer/association.ts';

export type ConnectionRefusalCode = 'CONNECTION_LIMIT' | 'PEER_CONNECTION_LIMIT';

/**
 * The code of a connection that ended before its association was decided, when Veil ended it (a timeout, a bad
 * PDU, a failed negotiation); undefined when the peer went away on its own (closed, aborted), which refuses nothing.
 */
export function refusalBeforeAssociation(end: AssociationEnd): string | undefined {
  if (end.kind !== 'aborted' || end.by !== 'local') return undefined;
  return end.code ?? 'LOCAL_ABORT';
}

/**
 * The code of a failed TLS handshake (node:tls `tlsClientError`, with the socket's `authorizationError`): a client
 * certificate missing or not signed by the configured CA (node:tls ends such a session itself, which reads as a
 * reset with an authorization error), the handshake's deadline, or any other failure (not TLS at all, nothing in
 * common). Undefined when the peer reset the connection itself (it refused us, or went away).
 */
export function refusalOfTlsHandshake(error: unknown, authorizationError?: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'TLS_CLIENT_CERTIFICATE_REFUSED';
  if (authorizationError !== null && authorizationError !== undefined) return 'TLS_CLIENT_CERTIFICATE_REFUSED';
  if (code === 'ECONNRESET' || code === 'EPIPE') return undefined;
  return code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'TIMEOUT_TLS_HANDSHAKE' : 'TLS_HANDSHAKE_FAILED';
}
