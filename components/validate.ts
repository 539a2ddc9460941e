/**
 * Argument checks shared by the components: each throws an Error that names the component and the
 * field, so a caller other than index.ts gets the same clear message as a bad stack config.
 */
export function fail(component: string, field: string, message: string): never {
    throw new Error(`${component}: args.${field} ${message}`);
}

export function requireInteger(component: string, field: string, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
        fail(component, field, `must be an integer from ${min} to ${max}, got ${value}`);
    }
}
