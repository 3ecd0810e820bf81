/** A parsed Prometheus text exposition: `name{labels sorted by name}` → value, so label order never matters. */
export class Scrape {
  readonly samples = new Map<string, number>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const at = line.lastIndexOf(' ');
      const series = line.slice(0, at);
      const brace = series.indexOf('{');
      const name = brace < 0 ? series : series.slice(0, brace);
      const labels = brace < 0 ? {} : parseLabels(series.slice(brace + 1, -1));
      this.samples.set(key(name, labels), Number(line.slice(at + 1)));
    }
  }

  /** The value of one sample; undefined when absent. */
  get(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.samples.get(key(name, labels));
  }

  /** Every sample of a family (for histograms, pass the `_bucket`/`_sum`/`_count` name). */
  family(name: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, value] of this.samples) if (k === name || k.startsWith(`${name}{`)) out.set(k, value);
    return out;
  }
}

function key(name: string, labels: Record<string, string>): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
  return inner ? `${name}{${inner}}` : name;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
  for (const match of text.matchAll(pattern)) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}
