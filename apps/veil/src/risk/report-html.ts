/**
 * The risk report as one self-contained HTML page: numbers, charts drawn as inline SVG (no script, no CDN, no
 * external font), the unique records, the advice. Pure: a RiskReportJson in, a string out.
 *
 * Example:
 *   writeFileSync('risk-report.html', renderRiskHtml(report));
 */
import type { RiskReportJson } from './run.ts';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** A horizontal bar chart: one bar per row, labelled, scaled to the largest value. */
export function barChart(
  title: string,
  rows: readonly { readonly label: string; readonly value: number; readonly note?: string }[],
  options: { readonly color?: string; readonly highlight?: (i: number) => boolean } = {},
): string {
  const width = 640;
  const labelW = 170;
  const barH = 20;
  const gap = 6;
  const top = 28;
  const height = top + rows.length * (barH + gap) + 8;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const bars = rows
    .map((r, i) => {
      const y = top + i * (barH + gap);
      const w = Math.round(((width - labelW - 90) * r.value) / max);
      const fill = options.highlight?.(i) ? '#c0392b' : (options.color ?? '#2e86c1');
      return (
        `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(r.label)}</text>` +
        `<rect x="${labelW}" y="${y}" width="${w}" height="${barH}" fill="${fill}"><title>${esc(`${r.label}: ${r.value}`)}</title></rect>` +
        `<text x="${labelW + w + 6}" y="${y + 14}">${esc(r.note ?? String(r.value))}</text>`
      );
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">` +
    `<text x="0" y="16" font-weight="bold">${esc(title)}</text>${bars}</svg>`
  );
}

/** A line of points (step number -> share), for the generalisation path. */
export function lineChart(
  title: string,
  points: readonly { readonly label: string; readonly value: number }[],
): string {
  const width = 640;
  const height = 220;
  const left = 50;
  const bottom = 40;
  const top = 30;
  const plotW = width - left - 20;
  const plotH = height - top - bottom;
  const n = Math.max(1, points.length - 1);
  const xy = points.map((p, i) => [left + (plotW * i) / n, top + plotH * (1 - Math.min(1, p.value))] as const);
  const path = xy.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const dots = xy
    .map(
      ([x, y], i) =>
        `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="4" fill="#2e86c1"><title>${esc(`${points[i]!.label}: ${pct(points[i]!.value)}`)}</title></circle>` +
        `<text x="${x.toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${i}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">` +
    `<text x="0" y="16" font-weight="bold">${esc(title)}</text>` +
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#888"/>` +
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#888"/>` +
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end">100%</text>` +
    `<text x="${left - 6}" y="${top + plotH + 4}" text-anchor="end">0%</text>` +
    `<path d="${path}" fill="none" stroke="#2e86c1" stroke-width="2"/>${dots}` +
    `<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">generalisation step</text></svg>`
  );
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderRiskHtml(report: RiskReportJson): string {
  const r = report.result;
  const s = r.released;
  const parts: string[] = [];
  parts.push(`<h1>Re-identification risk</h1>`);
  parts.push(
    `<p>${r.records} records (one per ${esc(r.unit)}) from ${r.files} files; ${report.run.skipped} files skipped (not DICOM). Target k = ${r.targetK}.</p>`,
  );
  parts.push(
    table(
      ['measure', 'value'],
      [
        ['k-anonymity (smallest class)', String(s.k)],
        ['equivalence classes', String(s.classes)],
        ['unique records', `${s.uniqueRecords} (${pct(s.uniqueShare)})`],
        [`records in classes under k = ${r.targetK}`, `${s.atRiskRecords} (${pct(s.atRiskShare)})`],
        ['prosecutor risk, highest', pct(s.maxRisk)],
        ['prosecutor risk, mean', pct(s.meanRisk)],
        ...(r.lDiversity
          ? [
              [`l-diversity of ${r.lDiversity.attribute}`, String(r.lDiversity.l)],
              [
                `classes under l = ${report.run.l}`,
                `${r.lDiversity.classesBelow} (${r.lDiversity.recordsBelow} records)`,
              ],
            ]
          : []),
      ],
    ),
  );
  parts.push(
    barChart(
      'Records by equivalence class size',
      r.classSizeHistogram.map((h) => ({ label: `class size ${h.bucket}`, value: h.records })),
      { highlight: (i) => i < 3 },
    ),
  );
  parts.push('<h2>Quasi-identifiers</h2>');
  parts.push(
    barChart(
      `Records with a value fewer than ${r.targetK} records share, per quasi-identifier`,
      r.quasiIdentifiers.map((q) => ({ label: q.name, value: q.rareRecords })),
      { color: '#e67e22' },
    ),
  );
  parts.push(
    table(
      ['quasi-identifier', 'present', 'distinct values', `rare (< ${r.targetK})`, 'uniques resolved by removing it'],
      r.quasiIdentifiers.map((q) => [
        q.name,
        String(q.present),
        String(q.distinct),
        String(q.rareRecords),
        String(q.uniquesResolvedByRemoving),
      ]),
    ),
  );
  parts.push(`<h2>Unique records (${r.uniqueRecords.length})</h2>`);
  parts.push(
    r.uniqueRecords.length === 0
      ? '<p>None.</p>'
      : table(
          ['record', 'stands out by', 'released values'],
          r.uniqueRecords.map((u) => [
            u.id,
            u.rareQis.join(', ') || '(the combination only)',
            Object.entries(u.values)
              .map(([k, v]) => `${k}=${v}`)
              .join('; '),
          ]),
        ),
  );
  if (r.rareProcedures.length > 0) {
    parts.push('<h2>Rare procedures</h2>');
    parts.push(
      table(
        ['modalities | body part | description', 'records'],
        r.rareProcedures.map((p) => [p.value, String(p.records)]),
      ),
    );
  }
  if (r.population) {
    const p = r.population;
    parts.push('<h2>Population estimates</h2>');
    parts.push(
      table(
        ['measure', 'value'],
        [
          ['population table columns', p.columns.join(', ')],
          ['records matched / unmatched', `${p.matched} / ${p.unmatched}`],
          ['records unique in the population', String(p.populationUnique)],
          [`records in population cells under k = ${r.targetK}`, String(p.populationBelowK)],
          ['journalist risk, highest', pct(p.maxRisk)],
          ['journalist risk, mean', pct(p.meanRisk)],
          ['expected re-identifications', p.expectedReidentifications.toFixed(2)],
        ],
      ),
    );
  }
  parts.push('<h2>Generalisation advice</h2>');
  if (r.generalisation.steps.length > 0) {
    parts.push(
      lineChart('Share of records in classes under k, step by step', [
        { label: 'as released', value: s.atRiskShare },
        ...r.generalisation.steps.map((st) => ({ label: `${st.qi}: ${st.to}`, value: st.after.atRiskShare })),
      ]),
    );
  }
  parts.push(
    `<ol>${r.advice
      .map(
        (a) =>
          `<li><strong>${esc(a.severity)}</strong> ${esc(a.text)}${a.config ? `<pre>${esc(JSON.stringify(a.config, null, 2))}</pre>` : ''}</li>`,
      )
      .join('')}</ol>`,
  );
  parts.push(`<p class="note">${esc(report.note)}</p>`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Veil re-identification risk</title><style>
body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
pre{background:#f4f4f4;padding:6px;margin:4px 0}.note{color:#666;font-size:90%}
</style></head><body>${parts.join('\n')}</body></html>\n`;
}
