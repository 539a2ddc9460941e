/** Durations as the clouds write them. */

/** ISO 8601 duration (PnDTnHnMnS, PnW) in seconds; undefined when not one. */
export function isoDurationSeconds(value: unknown): number | undefined {
    if (typeof value !== "string") return undefined;
    const m = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
    if (!m || value === "P" || value.endsWith("T")) return undefined;
    const [w, d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0));
    return (((w * 7 + d) * 24 + h) * 60 + min) * 60 + s;
}
