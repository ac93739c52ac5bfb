/**
 * Association negotiation on the acceptor side (PS3.8 7.1.1, PS3.7 D.3.3): which presentation contexts are
 * accepted, in which transfer syntax, with which roles. Pure: the A-ASSOCIATE-RQ and the policy in, the
 * presentation context and role selection items of the A-ASSOCIATE-AC out.
 *
 * Transfer syntax rule: with no preference list, the first transfer syntax the requestor proposes in each context
 * (the requestor's preference; Veil carries any encoding byte for byte, so it never needs to choose one it can
 * "read"). With a list, the first entry of the list that the context proposes; none -> the context is rejected
 * (transfer-syntaxes-not-supported), never converted.
 */

import { FIND_MODELS, GET_MODELS, isStorageSopClass, MOVE_MODELS, VERIFICATION_SOP_CLASS } from '../uids.ts';
import type { PresentationContextAc, PresentationContextRq, RoleSelection } from '../upper-layer/pdu.ts';
import { ContextResult } from '../upper-layer/pdu.ts';
import type { DimseServiceName } from './handlers.ts';

/** The service an abstract syntax belongs to, or undefined for one Veil does not serve. */
export function serviceOf(abstractSyntax: string): DimseServiceName | undefined {
  if (abstractSyntax === VERIFICATION_SOP_CLASS) return 'echo';
  if (FIND_MODELS.has(abstractSyntax)) return 'find';
  if (MOVE_MODELS.has(abstractSyntax)) return 'move';
  if (GET_MODELS.has(abstractSyntax)) return 'get';
  if (isStorageSopClass(abstractSyntax)) return 'store';
  return undefined;
}

export interface NegotiationPolicy {
  /** Services that may be used on this association (handlers present and allowed for the calling AE). */
  readonly services: ReadonlySet<DimseServiceName>;
  /** Preference list of transfer syntaxes; undefined = the requestor's first proposal. */
  readonly transferSyntaxes?: readonly string[];
}

export interface NegotiatedContexts {
  readonly presentationContexts: PresentationContextAc[];
  readonly roleSelections: RoleSelection[];
}

function chooseTransferSyntax(
  pc: PresentationContextRq,
  preference: readonly string[] | undefined,
): string | undefined {
  if (!preference) return pc.transferSyntaxes[0];
  return preference.find((ts) => pc.transferSyntaxes.includes(ts));
}

export function negotiateContexts(
  contexts: readonly PresentationContextRq[],
  proposedRoles: readonly RoleSelection[],
  policy: NegotiationPolicy,
): NegotiatedContexts {
  const roles = new Map(proposedRoles.map((r) => [r.sopClassUid, r]));
  const presentationContexts: PresentationContextAc[] = [];
  const roleSelections = new Map<string, RoleSelection>();
  for (const pc of contexts) {
    const reject = (result: number): void => {
      presentationContexts.push({ id: pc.id, result, transferSyntax: undefined });
    };
    const service = serviceOf(pc.abstractSyntax);
    const role = roles.get(pc.abstractSyntax);
    if (service === 'store' && role) {
      // The requestor asks for roles: SCU (it stores to Veil) and/or SCP (Veil stores to it, for a C-GET).
      const scu = role.scuRole === 1 && policy.services.has('store') ? 1 : 0;
      const scp = role.scpRole === 1 && policy.services.has('get') ? 1 : 0;
      if (scu === 0 && scp === 0) {
        reject(ContextResult.UserRejection);
        continue;
      }
      roleSelections.set(pc.abstractSyntax, { sopClassUid: pc.abstractSyntax, scuRole: scu, scpRole: scp });
    } else if (service === undefined || !policy.services.has(service)) {
      reject(ContextResult.AbstractSyntaxNotSupported);
      continue;
    }
    const ts = chooseTransferSyntax(pc, policy.transferSyntaxes);
    if (ts === undefined) {
      reject(ContextResult.TransferSyntaxesNotSupported);
      continue;
    }
    presentationContexts.push({ id: pc.id, result: ContextResult.Acceptance, transferSyntax: ts });
  }
  return { presentationContexts, roleSelections: [...roleSelections.values()] };
}
