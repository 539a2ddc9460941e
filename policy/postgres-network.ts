/**
 * Who can reach the outbox server's endpoint. Entra-only sign-in and TLS are checked in
 * ./azure-to-aws; this keeps the network door from being opened to the whole internet in a pull
 * request, which would leave the server's sign-in as the only barrier.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes, label, T } from "./common";
import { isUnknown, read, show } from "./values";

/** Largest range a firewall rule may admit: a /24, e.g. an office or a NAT gateway's prefix. */
export const POSTGRES_FIREWALL_MAX_ADDRESSES = 256;

function ipv4(value: unknown): number | undefined {
    const m = typeof value === "string" ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value.trim()) : null;
    if (!m) return undefined;
    const parts = m.slice(1).map(Number);
    return parts.some((n) => n > 255) ? undefined : parts.reduce((acc, n) => acc * 256 + n, 0);
}

export const postgresFirewallNarrow: ResourceValidationPolicy = {
    name: "postgres-firewall-not-open-to-internet",
    displayName: "PostgreSQL firewall rules admit narrow ranges only",
    description:
        `A PostgreSQL flexible server firewall rule admits at most ${POSTGRES_FIREWALL_MAX_ADDRESSES} addresses. The one exception is 0.0.0.0–0.0.0.0, ` +
        "Azure's convention for \"allow Azure services\" (the relay on Flex Consumption has no fixed outbound address); it admits Azure's ranges, other tenants' included, so sign-in (Entra only) stays the real barrier.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Narrow the rule to the addresses that need the server (a /24 at most), or reach the server over a private endpoint / VNet integration instead.",
    // Microsoft.DBforPostgreSQL 2025-08-01 FlexibleServers.json, definitions/FirewallRuleProperties:
    // startIpAddress and endIpAddress, both required IPv4 strings; Microsoft Learn "Firewall rules in
    // Azure Database for PostgreSQL flexible server": start = end = 0.0.0.0 means "allow Azure services".
    validateResource: forTypes([T.postgresFirewallRule], (props, args, report) => {
        const start = read(props, "startIpAddress");
        const end = read(props, "endIpAddress");
        if (isUnknown(start) || isUnknown(end)) return;
        const [from, to] = [ipv4(start), ipv4(end)];
        if (from === undefined || to === undefined) {
            report(`${label(args)}: startIpAddress ${show(start)} / endIpAddress ${show(end)} is not an IPv4 range; the pack cannot tell whom it admits.`);
            return;
        }
        if (from === 0 && to === 0) return;
        const size = to - from + 1;
        if (size > POSTGRES_FIREWALL_MAX_ADDRESSES) {
            report(`${label(args)}: ${show(start)}–${show(end)} admits ${size} addresses (at most ${POSTGRES_FIREWALL_MAX_ADDRESSES}): the server's endpoint would be open to that much of the internet.`);
        }
    }),
};
