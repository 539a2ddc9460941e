/**
 * Transport and exposure: TLS 1.2+ everywhere, no key-based or anonymous access, encryption at rest,
 * no credential leaving the stack as an output.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { config, forTypes, label, T, tlsAtLeast } from "./common";
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
    displayName: "Redis: TLS only, 1.2+, no access keys",
    description:
        "Azure Cache for Redis has no non-TLS port and minimumTlsVersion 1.2+; Azure Managed Redis (redisenterprise) clusters set minimumTlsVersion 1.2+ and their databases neither use the Plaintext client protocol nor enable access keys.",
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
            // Microsoft.Cache 2024-11-01 RedisProperties.disableAccessKeyAuthentication (default false).
            if (read(props, "disableAccessKeyAuthentication") === false) report(`${label(args)}: disableAccessKeyAuthentication is false; access keys bypass Entra ID.`);
            requireTls12();
        } else if (args.type === T.redisEnterprise) {
            requireTls12();
        } else {
            // Microsoft.Cache 2025-04-01 redisEnterprise DatabaseProperties.accessKeysAuthentication ("Enabled" | "Disabled").
            const keys = read(props, "accessKeysAuthentication");
            if (typeof keys === "string" && keys.toLowerCase() === "enabled") report(`${label(args)}: accessKeysAuthentication is "Enabled"; a leaked access key would bypass Entra ID. Set "Disabled".`);
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
    displayName: "Function apps: HTTPS only, TLS 1.2+, no FTP, no keys in settings",
    description:
        "Every App Service / Function app sets httpsOnly: true, siteConfig.ftpsState Disabled, TLS 1.2+ (minTlsVersion, scmMinTlsVersion when set), basic-auth publishing off (ftp / scm policies), and no app setting or connection string (on the app, a slot, or a separate settings resource) carries a key, SAS signature or password.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set httpsOnly: true, siteConfig { minTlsVersion: '1.2', ftpsState: 'Disabled' }, WebAppFtpAllowed / WebAppScmAllowed allow: false. Replace key-bearing connection strings by identity-based connections (e.g. AzureWebJobsStorage__accountName, ServiceBusConnection__fullyQualifiedNamespace) " +
        "with a managed identity and role assignments, or by Key Vault references (@Microsoft.KeyVault(...)).",
    validateResource: forTypes([T.webApp, T.webAppSlot, T.webAppSettings, T.webAppConnectionStrings, T.webAppFtpPolicy, T.webAppScmPolicy], (props, args, report) => {
        const who = label(args);
        if (args.type === T.webAppFtpPolicy || args.type === T.webAppScmPolicy) {
            // basicPublishingCredentialsPolicies/ftp and /scm (Microsoft.Web 2024-04-01 CsmPublishingCredentialsPoliciesEntity.allow).
            const allow = read(props, "allow");
            if (!isUnknown(allow) && allow !== false) report(`${who}: allow is ${show(allow)}; basic-auth (user/password) publishing must be off.`);
            return;
        }
        const checkSetting = (where: string, name: unknown, value: unknown) => {
            if (keyBearing(value)) report(`${who}: ${where} ${show(name)} holds a key-bearing connection string (the value is not shown).`);
        };
        if (args.type === T.webApp || args.type === T.webAppSlot) {
            const https = read(props, "httpsOnly");
            if (!isUnknown(https) && https !== true) report(`${who}: httpsOnly is ${show(https)}; plain HTTP would expose function keys and payloads.`);
            // Microsoft.Web 2024-04-01 SiteConfig: minTlsVersion / scmMinTlsVersion ("1.0" | "1.1" | "1.2" | "1.3"),
            // ftpsState ("AllAllowed" | "FtpsOnly" | "Disabled") (azure-rest-api-specs specification/web/resource-manager/Microsoft.Web/stable/2024-04-01/CommonDefinitions.json).
            for (const key of ["minTlsVersion", "scmMinTlsVersion"]) {
                const tls = read(props, "siteConfig", key);
                if (!isUnknown(tls) && tls !== undefined && !tlsAtLeast(tls, "1.2")) report(`${who}: siteConfig.${key} is ${show(tls)}; set "1.2" or later.`);
            }
            const ftps = read(props, "siteConfig", "ftpsState");
            if (!isUnknown(ftps) && ftps !== "Disabled") report(`${who}: siteConfig.ftpsState is ${show(ftps)}; set "Disabled": code is deployed from a package, never by FTP.`);
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


// ---------------------------------------------------------------------------------------------
// Storage: TLS 1.2, HTTPS only, no anonymous blob access

export const storageSecureTransport: ResourceValidationPolicy = {
    name: "storage-tls12-https-no-public-blobs",
    displayName: "Storage accounts: TLS 1.2+, HTTPS only, no anonymous blob access",
    description:
        "Every storage account sets minimumTlsVersion TLS1_2 or later, does not turn off enableHttpsTrafficOnly, does not allow public blob access, and sets allowSharedKeyAccess false (Entra ID only); no blob container allows anonymous access (publicAccess Blob or Container).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "StorageAccount: minimumTlsVersion 'TLS1_2', enableHttpsTrafficOnly true, allowBlobPublicAccess false, allowSharedKeyAccess false. BlobContainer: publicAccess 'None'.",
    // Microsoft.Storage 2023-05-01 StorageAccountPropertiesCreateParameters: minimumTlsVersion (TLS1_0 | TLS1_1 | TLS1_2 | TLS1_3),
    // supportsHttpsTrafficOnly (x-ms-client-name enableHttpsTrafficOnly), allowBlobPublicAccess; ContainerProperties.publicAccess
    // (Container | Blob | None) (azure-rest-api-specs specification/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json, blob.json).
    validateResource: forTypes([T.storageAccount, T.blobContainer], (props, args, report) => {
        const who = label(args);
        if (args.type === T.blobContainer) {
            const access = read(props, "publicAccess");
            if (typeof access === "string" && access.toLowerCase() !== "none") report(`${who}: publicAccess is ${show(access)}; anyone on the internet could read its blobs.`);
            return;
        }
        const tls = read(props, "minimumTlsVersion");
        if (!isUnknown(tls) && !tlsAtLeast(tls, "1.2")) report(`${who}: minimumTlsVersion is ${show(tls)}; set "TLS1_2".`);
        const https = read(props, "enableHttpsTrafficOnly");
        if (https === false) report(`${who}: enableHttpsTrafficOnly is false; plain HTTP would carry SAS tokens and data in clear text.`);
        const publicBlobs = read(props, "allowBlobPublicAccess");
        if (publicBlobs === true) report(`${who}: allowBlobPublicAccess is true; containers could be made anonymous.`);
        // allowSharedKeyAccess: "If false, then all requests, including shared access signatures, must be
        // authorized with Azure Active Directory (Azure AD). The default value is null, which is equivalent
        // to true" (storage.json 2023-05-01, StorageAccountPropertiesCreateParameters). With keys on, anyone
        // holding an account key bypasses Entra ID and RBAC (e.g. replaces a Functions package).
        const sharedKey = read(props, "allowSharedKeyAccess");
        if (!isUnknown(sharedKey) && sharedKey !== false) report(`${who}: allowSharedKeyAccess is ${show(sharedKey)} (absent means true); account keys and SAS would bypass Entra ID. Set false.`);
    }),
};

// ---------------------------------------------------------------------------------------------
// Application Insights: Entra ID ingestion only

export const appInsightsNoLocalAuth: ResourceValidationPolicy = {
    name: "appinsights-no-local-auth",
    displayName: "Application Insights accepts Entra ID telemetry only",
    description: "Every Application Insights component sets disableLocalAuth: true, so the instrumentation key alone cannot write (or forge) telemetry.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps: "Set disableLocalAuth: true and give the app's identity Monitoring Metrics Publisher on the component (APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD).",
    // Microsoft.Insights 2020-02-02 ApplicationInsightsComponentProperties.DisableLocalAuth (default false)
    // (azure-rest-api-specs specification/applicationinsights/resource-manager/Microsoft.Insights/stable/2020-02-02/components_API.json).
    validateResource: forTypes([T.appInsights], (props, args, report) => {
        const local = read(props, "disableLocalAuth");
        if (!isUnknown(local) && local !== true) report(`${label(args)}: disableLocalAuth is ${show(local)}; anyone with the connection string could write telemetry.`);
    }),
};

// ---------------------------------------------------------------------------------------------
// SQS: encrypted at rest

export const sqsEncrypted: ResourceValidationPolicy = {
    name: "sqs-queue-encrypted",
    displayName: "SQS queues are encrypted at rest",
    description: "Every SQS queue sets sqsManagedSseEnabled: true or a kmsMasterKeyId.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps: "Set sqsManagedSseEnabled: true (SSE-SQS) or kmsMasterKeyId (SSE-KMS) on the aws.sqs.Queue.",
    validateResource: forTypes([T.sqsQueue], (props, args, report) => {
        const managed = read(props, "sqsManagedSseEnabled");
        const kms = read(props, "kmsMasterKeyId");
        if (isUnknown(managed) || isUnknown(kms)) return;
        if (managed !== true && (typeof kms !== "string" || kms === "")) {
            report(`${label(args)}: neither sqsManagedSseEnabled nor kmsMasterKeyId is set: event payloads would rest unencrypted.`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// Stack outputs: no credential

/**
 * Properties (dotted paths) that hold a credential, by type (the providers mark them secret). CrossGuard
 * (@pulumi/policy 1.21, server.js analyzeStack) unwraps secrets before a policy sees them, so a
 * policy cannot tell a secret output from a plain one; it can compare values.
 */
export const CREDENTIAL_PROPERTIES: Record<string, string[]> = {
    "azuread:index/applicationPassword:ApplicationPassword": ["value"],
    "azuread:index/servicePrincipalPassword:ServicePrincipalPassword": ["value"],
    "random:index/randomPassword:RandomPassword": ["result", "bcryptHash"],
    "aws:iam/accessKey:AccessKey": ["secret", "sesSmtpPasswordV4"],
    "aws:secretsmanager/secretVersion:SecretVersion": ["secretString"],
    "aws:cloudwatch/eventConnection:EventConnection": ["authParameters.oauth.clientParameters.clientSecret", "authParameters.basic.password", "authParameters.apiKey.value"],
    "azure-native:redis:Redis": ["accessKeys"],
    "azure-native:servicebus:NamespaceAuthorizationRule": ["primaryKey", "secondaryKey", "primaryConnectionString", "secondaryConnectionString"],
    "tls:index/privateKey:PrivateKey": ["privateKeyPem", "privateKeyOpenssh"],
};

/** Every string inside a value (objects and arrays walked). */
function strings(value: unknown, out: string[] = [], depth = 0): string[] {
    if (depth > 8 || isUnknown(value)) return out;
    if (typeof value === "string") out.push(value);
    else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) strings(read(value, i), out, depth + 1);
    else if (value && typeof value === "object") for (const [, v] of entries(value) as [string, unknown][]) strings(v, out, depth + 1);
    return out;
}

export const stackOutputsNoCredentials: StackValidationPolicy = {
    name: "stack-outputs-no-credentials",
    displayName: "Stack outputs carry no credential",
    description:
        "No stack output holds a credential of a resource in the stack (an application or service principal password, a generated password, an access key, a key-bearing connection string), or any key-bearing connection string; a credential embedded in a longer string counts. Checked on the root stack resource's outputs.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Do not export credentials: export the id or name a consumer needs and let it fetch the secret through its own identity. " +
        "CrossGuard hands policies secret values unwrapped, so a credential is refused even when exported with pulumi.secret; list a deliberate exception in allowedOutputs.",
    configSchema: {
        properties: {
            allowedOutputs: { type: "array", items: { type: "string" }, default: [], description: "Stack output names never checked." },
        },
    },
    validateStack: (args, report) => {
        const { allowedOutputs } = config(args, { allowedOutputs: [] as string[] });
        const stacks = args.resources.filter((r) => r.type === T.stack);
        if (stacks.length === 0) args.notApplicable("the root stack resource is not in the analysis");
        const credentials = new Map<string, string>();
        for (const r of args.resources) {
            for (const key of CREDENTIAL_PROPERTIES[r.type] ?? []) {
                for (const value of strings(read(r.props, ...key.split(".")))) if (value.length >= 8) credentials.set(value, `${label(r)}.${key}`);
            }
        }
        for (const stack of stacks) {
            const outputs = entries(stack.props);
            if (outputs === UNKNOWN) continue;
            for (const [name, value] of outputs) {
                if (allowedOutputs.includes(name)) continue;
                const found = strings(value);
                // A credential inside a longer string (`id:secret`, a URL's userinfo, an Authorization
                // header) leaks as surely as the bare value; credentials are >= 8 characters, so a
                // substring match does not fire on short common tokens.
                const leaked = found.map((v) => credentials.get(v) ?? [...credentials].find(([c]) => v.includes(c))?.[1]).find((c) => c !== undefined);
                if (leaked) report(`Stack output ${JSON.stringify(name)} holds the credential ${leaked}: anyone who can read the stack's outputs can use it.`, stack.urn);
                else if (found.some(keyBearing)) report(`Stack output ${JSON.stringify(name)} holds a key-bearing connection string.`, stack.urn);
            }
        }
    },
};

export const transportAndExposurePolicies = [serviceBusNamespaceAuth, redisTlsOnly, functionAppTransportAndSecrets, storageSecureTransport, appInsightsNoLocalAuth, sqsEncrypted, stackOutputsNoCredentials];
