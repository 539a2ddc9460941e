import * as pulumi from "@pulumi/pulumi";
import * as applicationinsights from "@pulumi/azure-native/applicationinsights";
import { assignRole, BUILT_IN_ROLES } from "./roles";

export interface FunctionInsightsArgs {
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    /** Log Analytics workspace the component stores its data in (workspace-based Application Insights). */
    workspaceId: pulumi.Input<string>;
    /** Entra object id of the app's identity: the only sender of its telemetry. */
    appPrincipalId: pulumi.Input<string>;
    /** What the publisher role assignment says (shown in the portal). */
    publisherDescription: string;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A Functions app's Application Insights: workspace-based, ingestion with an Entra ID token only
 * (the instrumentation key alone cannot send), the app's identity as Monitoring Metrics Publisher.
 * Children of `parent` named `${name}-insights` and `${name}-insights-publisher`.
 */
export function createFunctionInsights(name: string, args: FunctionInsightsArgs, parent: pulumi.Resource) {
    const insights = new applicationinsights.Component(
        `${name}-insights`,
        {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            kind: "web",
            applicationType: "web",
            workspaceResourceId: args.workspaceId,
            disableLocalAuth: true,
            tags: args.tags,
        },
        { parent },
    );
    const publisher = assignRole(
        `${name}-insights-publisher`,
        { role: BUILT_IN_ROLES.monitoringMetricsPublisher, principalId: args.appPrincipalId, scope: insights.id, description: args.publisherDescription },
        parent,
    );
    return { insights, publisher };
}

/**
 * App settings every identity-based Functions app of the mesh has: host storage by identity
 * (`AzureWebJobsStorage__*`) and Application Insights with Entra ID ingestion (Learn, "App settings
 * reference for Azure Functions": APPLICATIONINSIGHTS_AUTHENTICATION_STRING `ClientId=…;Authorization=AAD`).
 */
export function hostSettings(args: { storageAccountName: pulumi.Input<string>; identityClientId: pulumi.Input<string>; insightsConnectionString: pulumi.Input<string> }): Record<string, pulumi.Input<string>> {
    return {
        AzureWebJobsStorage__accountName: args.storageAccountName,
        AzureWebJobsStorage__credential: "managedidentity",
        AzureWebJobsStorage__clientId: args.identityClientId,
        APPLICATIONINSIGHTS_CONNECTION_STRING: args.insightsConnectionString,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: pulumi.interpolate`ClientId=${args.identityClientId};Authorization=AAD`,
    };
}
