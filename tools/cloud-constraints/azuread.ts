/**
 * Microsoft Entra ID objects through @pulumi/azuread 6.9.1 (Microsoft Graph v1.0): limits from the
 * Graph resource pages.
 */
import { matches, maxLength, oneOf, required, resourceRule, TypeConstraints } from "./rules";

const GRAPH = (page: string) => `learn.microsoft.com/graph/api/resources/${page}`;

export const azureadConstraints: TypeConstraints[] = [
    {
        type: "azuread:index/application:Application",
        api: "Microsoft Graph v1.0 application",
        rules: [
            required(["displayName"], GRAPH("application (displayName: required)")),
            maxLength("displayName", 256, GRAPH("application (displayName: maximum length 256)")),
            maxLength("notes", 1024, GRAPH("application (notes: maximum length 1024)")),
            oneOf("signInAudience", ["AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"], GRAPH("application (signInAudience)")),
        ],
    },
    {
        type: "azuread:index/servicePrincipal:ServicePrincipal",
        api: "Microsoft Graph v1.0 servicePrincipal",
        rules: [required(["clientId"], GRAPH("serviceprincipal (appId: required at create)")), matches("clientId", /^[0-9a-fA-F-]{36}$/, "a GUID", GRAPH("serviceprincipal (appId)"))],
    },
    {
        type: "azuread:index/applicationPassword:ApplicationPassword",
        api: "Microsoft Graph v1.0 application: addPassword (passwordCredential)",
        rules: [
            required(["applicationId"], "learn.microsoft.com/graph/api/application-addpassword"),
            matches("endDate", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, "an RFC 3339 timestamp", GRAPH("passwordcredential (endDateTime: ISO 8601, UTC)")),
            resourceRule("endDate is after startDate", GRAPH("passwordcredential (startDateTime, endDateTime)"), (r) =>
                typeof r.inputs.endDate === "string" && typeof r.inputs.startDate === "string" && Date.parse(r.inputs.endDate) <= Date.parse(r.inputs.startDate) ? [{ path: "endDate", value: r.inputs.endDate }] : [],
            ),
        ],
    },
    {
        // The Azure → AWS relay's audience (components/azure/relay-audience.ts).
        type: "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri",
        api: "Microsoft Graph v1.0 application (identifierUris)",
        rules: [
            required(["applicationId", "identifierUri"], GRAPH("application (identifierUris)")),
            // Without a verified domain a single-tenant app may use api://<appId> (Microsoft identity
            // platform, "Restrictions on identifier URIs of Microsoft Entra applications").
            matches("identifierUri", /^api:\/\/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "api://<application client id>", "learn.microsoft.com/entra/identity-platform/identifier-uri-restrictions (api://{appId} without a verified domain)"),
        ],
    },
];
