/**
 * The re-identification risk of a gateway batch (a pull job's released instances), from the quasi-identifier rows
 * the gateway stored as each instance was delivered (the de-identified output is removed from the spool once
 * delivered, so the report cannot read the files later). Same metrics, same report files as `veil risk DIR`.
 *
 * Example:
 *   const report = riskReportFromRows(rows.map((r) => ({ qi: r.qi, fallbackId: r.jobId })), { k: 5, l: 2 });
 *   writeRiskReport(dir, report);
 */
import { assessRisk } from './metrics.ts';
import { type InstanceQi, mergeRecords, type RecordUnit } from './quasi-identifiers.ts';
import { RISK_NOTE, type RiskReportJson } from './run.ts';

/** A stored row back to an InstanceQi (JSON drops undefined values; lists default to empty). */
export function qiFromJson(o: Record<string, unknown>): InstanceQi {
  const s = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const n = (k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
  const list = (k: string): string[] =>
    Array.isArray(o[k]) ? (o[k] as unknown[]).filter((v): v is string => typeof v === 'string') : [];
  return {
    studyUid: s('studyUid'),
    patientId: s('patientId'),
    sopInstanceUid: s('sopInstanceUid'),
    ageYears: n('ageYears'),
    ageFromBirthDate: o.ageFromBirthDate === true,
    sex: s('sex'),
    ethnicGroup: s('ethnicGroup'),
    birthDate: s('birthDate'),
    studyDate: s('studyDate'),
    heightCm: n('heightCm'),
    weightKg: n('weightKg'),
    institution: s('institution'),
    station: s('station'),
    device: s('device'),
    deviceSerial: list('deviceSerial'),
    modality: s('modality'),
    bodyPart: s('bodyPart'),
    studyDescription: s('studyDescription'),
    privateCreators: list('privateCreators'),
    sensitive: s('sensitive'),
  };
}

export function riskReportFromRows(
  instances: readonly { readonly qi: InstanceQi; readonly fallbackId: string }[],
  o: { readonly k: number; readonly l: number; readonly unit?: RecordUnit; readonly skipped?: number },
): RiskReportJson {
  const startedAt = new Date().toISOString();
  const unit = o.unit ?? 'study';
  const result = assessRisk(mergeRecords(instances, unit), { k: o.k, l: o.l, unit });
  return {
    tool: 'veil risk',
    reportVersion: 1,
    note: RISK_NOTE,
    run: {
      startedAt,
      finishedAt: new Date().toISOString(),
      files: instances.length + (o.skipped ?? 0),
      skipped: o.skipped ?? 0,
      k: o.k,
      l: o.l,
      unit,
      sensitive: null,
      population: false,
    },
    result,
  };
}
