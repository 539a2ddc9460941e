/**
 * Every policy of the multicloud-mesh CrossGuard pack, as plain objects, grouped by what it guards.
 *
 * `index.ts` builds the `PolicyPack` from `policies`; tests and the offline preview import this
 * module instead, because constructing a `PolicyPack` starts the analyzer's gRPC server.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { alarmReceiversOutsideDev } from "./alarm-receivers";
import { azureToAwsDeliveryPolicies, azureToAwsIdentityPolicies, azureToAwsTransportPolicies } from "./azure-to-aws";
import { azureToAwsRoutingPolicies } from "./azure-to-aws-routing";
import { deliveryPathPolicies } from "./delivery-path";
import { eventRuleAndArchivePolicies } from "./event-rules-and-archives";
import { sqsConsumerQueueBacklogAlarm } from "./sqs-consumer-backlog";
import { hygienePolicies } from "./hygiene";
import { identityAndAccessPolicies } from "./identity-and-access";
import { keyAndInvokePolicies } from "./key-and-invoke-policies";
import { transportAndExposurePolicies } from "./transport-and-exposure";

export { OUTBOX_KEY_ATTRIBUTE, PACK_ENFORCEMENT_LEVEL, PACK_NAME, T } from "./common";
export * from "./alarm-receivers";
export * from "./azure-to-aws";
export * from "./azure-to-aws-routing";
export * from "./dead-letter-queues";
export * from "./delivery-path";
export * from "./event-rules-and-archives";
export * from "./hygiene";
export * from "./identity-and-access";
export * from "./key-and-invoke-policies";
export * from "./sqs-consumer-backlog";
export * from "./transport-and-exposure";

export type Policy = ResourceValidationPolicy | StackValidationPolicy;

/** What a policy guards: the classes of docs/policies.md. */
export type PolicyClass = "delivery path" | "identity and access" | "transport and exposure" | "hygiene";

/** Every policy with its class, in the order of docs/policies.md. */
export const POLICY_CLASSES: [PolicyClass, Policy[]][] = [
    ["delivery path", [...deliveryPathPolicies, ...azureToAwsDeliveryPolicies, sqsConsumerQueueBacklogAlarm, ...azureToAwsRoutingPolicies, ...eventRuleAndArchivePolicies, alarmReceiversOutsideDev]],
    ["identity and access", [...identityAndAccessPolicies, ...azureToAwsIdentityPolicies, ...keyAndInvokePolicies]],
    ["transport and exposure", [...transportAndExposurePolicies, ...azureToAwsTransportPolicies]],
    ["hygiene", hygienePolicies],
];

/** Every policy of the pack. */
export const policies: Policy[] = POLICY_CLASSES.flatMap(([, list]) => list);
