/**
 * The options both mutant runners take (`npm run sim:mutants` and its `--reverse` half): which
 * mutants, which seeds, how many must fail, and the size of each run.
 */
export interface MutantRunOptions {
  only?: string[];
  fast: boolean;
  seeds: number[];
  need: number;
  events: number;
  parallel: number;
  wallLimitSeconds: number;
  json: boolean;
}

/** Parses `argv` over `defaults`; `noun` names the mutants in errors, `usage` follows an unknown option. */
export function parseRunnerArgs(argv: string[], defaults: MutantRunOptions, knownIds: readonly string[], noun: string, usage = ""): MutantRunOptions {
  const o: MutantRunOptions = { ...defaults, seeds: [...defaults.seeds] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
      return v;
    };
    const integer = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${v}'`);
      return n;
    };
    switch (flag) {
      case "--only": o.only = value().split(","); break;
      case "--fast": o.fast = true; break;
      case "--seeds": o.seeds = value().split(",").map(integer); break;
      case "--need": o.need = integer(value()); break;
      case "--events": o.events = integer(value()); break;
      case "--parallel": o.parallel = integer(value()); break;
      case "--wall-limit-seconds": o.wallLimitSeconds = integer(value()); break;
      case "--json": o.json = true; break;
      default: throw new Error(`unknown option '${flag}'${usage}`);
    }
  }
  if (o.need > o.seeds.length) throw new Error(`--need (${o.need}) exceeds the number of seeds (${o.seeds.length})`);
  const unknown = (o.only ?? []).filter((id) => !knownIds.includes(id));
  if (unknown.length > 0) throw new Error(`--only: no ${noun} named ${unknown.join(", ")}`);
  return o;
}
