/**
 * The multicloud-mesh CrossGuard pack: `pulumi preview --policy-pack policy` (run `npm install` in
 * this folder once). The policies live in ./policies so tests and the offline preview
 * (`npm run preview`, tools/policy-runner.ts) can run them without starting the analyzer server
 * that the PolicyPack constructor starts.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
    description: "Dead letters alarmed on both clouds, retries and DLQs on every delivery path, least-privilege IAM, expiring secrets, TLS 1.2+, required tags.",
    enforcementLevel: PACK_ENFORCEMENT_LEVEL,
    policies,
});
