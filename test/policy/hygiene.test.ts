import * as assert from "assert";

import { T } from "../../policy/policies";

import { assertFails, assertPasses, resource, verdictOf } from "./support";


describe("policy: lambda-runtime-not-deprecated", () => {
    const P = "lambda-runtime-not-deprecated";
    const fn = (inputs: Record<string, unknown>) => resource(T.lambdaFunction, "relay", { role: "arn", handler: "index.handler", ...inputs });
    it("passes a supported runtime", async () => assertPasses(await verdictOf(P, [fn({ runtime: "nodejs22.x" })])));
    it("fails a deprecated runtime", async () => assertFails(await verdictOf(P, [fn({ runtime: "nodejs16.x" })]), /nodejs16\.x, deprecated since 2024-06-12/));
    it("compares deprecation dates with referenceTime", async () => {
        assertPasses(await verdictOf(P, [fn({ runtime: "nodejs20.x" })], { [P]: { referenceTime: "2026-01-01T00:00:00Z" } }));
        assertFails(await verdictOf(P, [fn({ runtime: "nodejs20.x" })], { [P]: { referenceTime: "2026-05-01T00:00:00Z" } }), /deprecated since 2026-04-30/);
    });
    it("fails a runtime added through config, and a missing runtime", async () => {
        assertFails(await verdictOf(P, [fn({ runtime: "nodejs22.x" })], { [P]: { additionalDeprecatedRuntimes: ["nodejs22.x"] } }), /nodejs22\.x, refused by this pack/);
        assertFails(await verdictOf(P, [fn({})]), /has no runtime/);
    });
    it("does not apply to container images", async () => assert.ok((await verdictOf(P, [fn({ packageType: "Image" })])).notApplicable));
});

describe("policy: required-tags", () => {
    const P = "required-tags";
    const tags = { "mesh:project": "multicloud-mesh", "mesh:stack": "dev" };
    const provider = (inputs: Record<string, unknown>) => resource("pulumi:providers:aws", "aws", inputs);
    const ref = (p: { urn: string }) => `${p.urn}::aws-id`;
    it("counts the aws provider's defaultTags (as the provider receives them: a JSON string)", async () => {
        const p = provider({ region: "eu-west-1", defaultTags: JSON.stringify({ tags }) });
        assertPasses(await verdictOf(P, [p, resource(T.sqsQueue, "q", {}, { provider: ref(p) })]));
    });
    it("fails an AWS resource with neither tags nor default tags", async () => {
        const p = provider({ region: "eu-west-1" });
        assertFails(await verdictOf(P, [p, resource(T.sqsQueue, "q", {}, { provider: ref(p) })]), /lacks required tags "mesh:project", "mesh:stack"/);
    });
    it("accepts tagsAll (the provider's merged tags during up)", async () => assertPasses(await verdictOf(P, [resource(T.sqsQueue, "q", { tagsAll: tags })])));
    it("fails an Azure resource missing one tag or with an empty value", async () => {
        assertFails(await verdictOf(P, [resource(T.serviceBusNamespace, "ns", { tags: { "mesh:project": "multicloud-mesh" } })]), /lacks required tag "mesh:stack"/);
        assertFails(await verdictOf(P, [resource(T.serviceBusNamespace, "ns", { tags: { ...tags, "mesh:stack": "" } })]), /"mesh:stack"/);
    });
    it("takes the tag list from config", async () =>
        assertFails(await verdictOf(P, [resource(T.serviceBusNamespace, "ns", { tags })], { [P]: { requiredTags: ["owner"] } }), /"owner"/));
    it("does not apply to types without tags, nor to Entra ID", async () => {
        assert.ok((await verdictOf(P, [resource(T.serviceBusQueue, "q", { queueName: "q" })])).notApplicable);
        assert.ok((await verdictOf(P, [resource("azuread:index/application:Application", "app", { displayName: "x" })])).notApplicable);
    });
});
