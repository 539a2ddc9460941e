/**
 * Transport and exposure: TLS 1.2+ everywhere, no key-based or anonymous access, encryption at rest,
 * no credential leaving the stack as an output.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes, label, T, tlsAtLeast } from "./common";
import { entries, isUnknown, list, read, show, UNKNOWN } from "./values";

// ---------------------------------------------------------------------------------------------
// 6. Service Bus namespaces: Entra ID only, TLS 1.2

export const serviceBusNamespaceAuth: ResourceValidationPolicy = {
    name: "servicebus-namespace-entra-only-tls12",
    displayName: "Service Bus namespaces: no SAS keys, TLS 1.2+",
    description: "Every Service Bus namespace sets disableLocalAuth: true (no SAS keys, Entra ID only) and minimumTlsVersion 1.2 or later.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set disableLocalAuth: true and minimumTlsVersion: '1.2' on the azure-native:servicebus:Namespace; grant senders and receivers " +
        "'Azure Service Bus Data Sender/Receiver' role assignments scoped to the queue instead of SAS keys.",
    validateResource: forTypes([T.serviceBusNamespace], (props, args, report) => {
        const local = read(props, "disableLocalAuth");
        if (!isUnknown(local) && local !== true) {
            report(`${label(args)}: disableLocalAuth is ${show(local)}; SAS keys (local auth) must be disabled (true) so only Entra ID identities with a data role can send or receive.`);
        }
        const tls = read(props, "minimumTlsVersion");
        if (!isUnknown(tls) && !tlsAtLeast(tls, "1.2")) {
            report(`${label(args)}: minimumTlsVersion is ${show(tls)}; set "1.2" or later.`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// 7. Redis: TLS only, 1.2+

export const redisTlsOnly: ResourceValidationPolicy = {
    name: "redis-tls-only",
    displayName: "Redis: TLS only, 1.2+",
    description:
        "Azure Cache for Redis has no non-TLS port and minimumTlsVersion 1.2+; Azure Managed Redis (redisenterprise) clusters set minimumTlsVersion 1.2+ and their databases do not use the Plaintext client protocol.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "azure-native:redis:Redis: enableNonSslPort false (or unset) and minimumTlsVersion '1.2'. azure-native:redisenterprise:RedisEnterprise: minimumTlsVersion '1.2'. " +
        "azure-native:redisenterprise:Database: clientProtocol 'Encrypted' (the API default). Clients connect with TLS (rediss://, port 6380 / 10000).",
    validateResource: forTypes([T.redis, T.redisEnterprise, T.redisEnterpriseDatabase], (props, args, report) => {
        const requireTls12 = () => {
            const tls = read(props, "minimumTlsVersion");
            if (!isUnknown(tls) && !tlsAtLeast(tls, "1.2")) report(`${label(args)}: minimumTlsVersion is ${show(tls)}; set "1.2" explicitly.`);
        };
        if (args.type === T.redis) {
            // The API default of enableNonSslPort is false, so leaving it unset is not a non-TLS port.
            if (read(props, "enableNonSslPort") === true) report(`${label(args)}: enableNonSslPort is true; the non-TLS port 6379 sends keys and values in clear text.`);
            requireTls12();
        } else if (args.type === T.redisEnterprise) {
            requireTls12();
        } else {
            const protocol = read(props, "clientProtocol");
            if (typeof protocol === "string" && protocol.toLowerCase() === "plaintext") {
                report(`${label(args)}: clientProtocol is "Plaintext"; use "Encrypted" (TLS).`);
            }
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// 10. Function apps (App Service apps): HTTPS only, no key-bearing connection strings

const KEY_BEARING = /(AccountKey|SharedAccessKey|SharedAccessSignature|AccessKey|Password|Pwd)\s*=|[?&]sig=/i;
const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(/i;

function keyBearing(value: unknown): boolean {
    return typeof value === "string" && !KEY_VAULT_REFERENCE.test(value.trim()) && KEY_BEARING.test(value);
}

export const functionAppTransportAndSecrets: ResourceValidationPolicy = {
    name: "function-app-https-no-key-settings",
    displayName: "Function apps: HTTPS only, no keys in settings",
    description:
        "Every App Service / Function app sets httpsOnly: true, and no app setting or connection string (on the app, a slot, or a separate settings resource) carries a key, SAS signature or password.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set httpsOnly: true. Replace key-bearing connection strings by identity-based connections (e.g. AzureWebJobsStorage__accountName, ServiceBusConnection__fullyQualifiedNamespace) " +
        "with a managed identity and role assignments, or by Key Vault references (@Microsoft.KeyVault(...)).",
    validateResource: forTypes([T.webApp, T.webAppSlot, T.webAppSettings, T.webAppConnectionStrings], (props, args, report) => {
        const who = label(args);
        const checkSetting = (where: string, name: unknown, value: unknown) => {
            if (keyBearing(value)) report(`${who}: ${where} ${show(name)} holds a key-bearing connection string (the value is not shown).`);
        };
        if (args.type === T.webApp || args.type === T.webAppSlot) {
            const https = read(props, "httpsOnly");
            if (!isUnknown(https) && https !== true) report(`${who}: httpsOnly is ${show(https)}; plain HTTP would expose function keys and payloads.`);
            const settings = list(read(props, "siteConfig", "appSettings"));
            if (settings !== UNKNOWN) settings.forEach((s) => checkSetting("app setting", read(s, "name"), read(s, "value")));
            const connections = list(read(props, "siteConfig", "connectionStrings"));
            if (connections !== UNKNOWN) connections.forEach((c) => checkSetting("connection string", read(c, "name"), read(c, "connectionString")));
        } else if (args.type === T.webAppSettings) {
            const settings = entries(read(props, "properties"));
            if (settings !== UNKNOWN) settings.forEach(([name, value]) => checkSetting("app setting", name, value));
        } else {
            const connections = entries(read(props, "properties"));
            if (connections !== UNKNOWN) connections.forEach(([name, value]) => checkSetting("connection string", name, read(value, "value")));
        }
    }),
};


export const transportAndExposurePolicies = [serviceBusNamespaceAuth, redisTlsOnly, functionAppTransportAndSecrets];
