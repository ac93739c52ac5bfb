/**
 * @veil/dimse: DICOM networking. The PS3.8 upper layer (PDUs, association state machine, ARTIM/idle timers,
 * P-DATA fragmentation) and the PS3.7 DIMSE-C services (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET) as SCU
 * (DimseClient) and SCP (DimseServer with handler ports). Data sets pass through as bytes: never decoded, never
 * re-encoded, never converted to another transfer syntax. Must not import storage or queue packages, nor apps.
 *
 * Example (SCP):
 *   const server = new DimseServer({ aeTitle: 'VEIL', handlers: { store: { beginStore: (rq) => sinkFor(rq) } } });
 *   const { port } = await server.listen({ port: 11112, host: '127.0.0.1' });
 *
 * Example (SCU):
 *   const info = describePart10(bytes);
 *   const client = await DimseClient.connect({ host, port, callingAeTitle: 'VEIL', calledAeTitle: 'PACS',
 *     contexts: [{ abstractSyntax: info.sopClassUid, transferSyntaxes: [info.transferSyntaxUid] }] });
 *   const { status } = await client.store({ ...info, dataset: bytes.subarray(info.datasetOffset) });
 *   await client.release();
 */

export * from './dimse/command-set.ts';
export * from './dimse/identifier.ts';
export type { DatasetSink } from './dimse/message-assembler.ts';
export * from './dimse/status.ts';
export * from './errors.ts';
export * from './part10.ts';
export * from './services/dimse-client.ts';
export * from './services/dimse-server.ts';
export * from './services/handlers.ts';
export { negotiateContexts, serviceOf } from './services/negotiation.ts';
export { retrieveFinalStatus, type ScpHandlers } from './services/service-class-provider.ts';
export * from './uids.ts';
export {
  type AcceptedContext,
  type AssociationEnd,
  type AssociationTimeouts,
  DEFAULT_MAX_PDU_LENGTH,
  DEFAULT_TIMEOUTS,
} from './upper-layer/association.ts';
export * from './upper-layer/pdu.ts';
export { decodePdu, encodePdu } from './upper-layer/pdu-codec.ts';
export { PduReader } from './upper-layer/pdu-reader.ts';
export { type Action, type Event, type State, transition } from './upper-layer/state-machine.ts';
