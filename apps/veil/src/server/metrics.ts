/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges read at scrape time, histograms.
 * Label values are step, destination, ingress names and stable codes: never anything read from a file.
 *
 * Example:
 *   const m = new Metrics();
 *   const received = m.counter('veil_received_total', 'Instances received', ['ingress']);
 *   received.inc({ ingress: 'inbox' });
 *   m.render(); // '# HELP veil_received_total ...'
 */

type Labels = Readonly<Record<string, string>>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], labels: Labels, extra?: [string, string]): string {
  const parts = names.map((n) => `${n}="${escapeLabel(labels[n] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function keyOf(names: readonly string[], labels: Labels): string {
  return names.map((n) => labels[n] ?? '').join('\u0000');
}

function num(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
}

interface Metric {
  render(): Promise<string[]>;
}

export class Counter implements Metric {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = keyOf(this.labelNames, labels);
    const cur = this.#values.get(k);
    if (cur) cur.value += by;
    else this.#values.set(k, { labels: { ...labels }, value: by });
  }

  get(labels: Labels = {}): number {
    return this.#values.get(keyOf(this.labelNames, labels))?.value ?? 0;
  }

  /** The sum over all label values. */
  total(): number {
    let t = 0;
    for (const v of this.#values.values()) t += v.value;
    return t;
  }

  async render(): Promise<string[]> {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.#values.size === 0 && this.labelNames.length === 0) lines.push(`${this.name} 0`);
    for (const { labels, value } of this.#values.values()) {
      lines.push(`${this.name}${labelText(this.labelNames, labels)} ${num(value)}`);
    }
    return lines;
  }
}

export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly collect: () => Promise<readonly (readonly [Labels, number])[]>,
  ) {}

  async render(): Promise<string[]> {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [labels, value] of await this.collect()) {
      lines.push(`${this.name}${labelText(this.labelNames, labels)} ${num(value)}`);
    }
    return lines;
  }
}

export class Histogram implements Metric {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const k = keyOf(this.labelNames, labels);
    let s = this.#series.get(k);
    if (!s) {
      s = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  async render(): Promise<string[]> {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.#series.values()) {
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, ['le', num(b)])} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, s.labels)} ${num(s.sum)}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, s.labels)} ${s.count}`);
    }
    return lines;
  }
}

export const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class Metrics {
  readonly #metrics: Metric[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    // One series per name: a second registration (several listeners sharing a counter) gets the first.
    const existing = this.#metrics.find((m) => m instanceof Counter && m.name === name) as Counter | undefined;
    if (existing) return existing;
    const c = new Counter(name, help, labelNames);
    this.#metrics.push(c);
    return c;
  }

  gauge(
    name: string,
    help: string,
    labelNames: readonly string[],
    collect: () => Promise<readonly (readonly [Labels, number])[]>,
  ): Gauge {
    const g = new Gauge(name, help, labelNames, collect);
    this.#metrics.push(g);
    return g;
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets = SECONDS_BUCKETS): Histogram {
    const h = new Histogram(name, help, labelNames, buckets);
    this.#metrics.push(h);
    return h;
  }

  /** A gauge whose collection fails is left out of this scrape (the rest still renders). */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const m of this.#metrics) {
      try {
        out.push(...(await m.render()));
      } catch {
        // e.g. the store is unreachable: /health says so.
      }
    }
    return `${out.join('\n')}\n`;
  }
}

/** `veil_refused_total{listener,code}`: requests, connections and associations refused or cut by a security limit. */
export function refusals(m: Metrics): Counter {
  return m.counter(
    'veil_refused_total',
    'Requests, connections and associations refused or cut (authentication, Host, limits, quota), by listener and code',
    ['listener', 'code'],
  );
}
