// js-lib.mjs: what the Node benchmarks (bench/js-*.mjs) share: arguments, medians, and
// the output: a human-readable table, or with --json one JSON object per line per run
// ({"group","case","system","metric","unit","value","higher_is_better"}) for the
// orchestrator that aggregates medians.

export const json = process.argv.includes('--json');
/** Positional arguments (flags such as --json removed). */
export const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));

export function median(values) {
  const v = [...values].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** One measured run: printed at once with --json, kept for the table otherwise. */
export function row(r) {
  if (json) console.log(JSON.stringify(r));
  return r;
}

/** Prints with console.log unless --json (JSON mode prints only rows). */
export function say(...text) {
  if (!json) console.log(...text);
}
