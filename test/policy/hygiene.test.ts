import * as assert from "assert";

import { T } from "../../policy/policies";

import { assertFails, assertPasses, messages, resource, verdictOf } from "./support";


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

describe("policy: lambda-runtime-not-deprecated fails before the published date", () => {
    const P = "lambda-runtime-not-deprecated";
    const fn = (runtime: string) => resource(T.lambdaFunction, "relay", { role: "arn", handler: "index.handler", runtime });
    it("knows nodejs22.x (deprecated 2027-04-30) and fails it 90 days before, not after", async () => {
        assertPasses(await verdictOf(P, [fn("nodejs22.x")], { [P]: { referenceTime: "2027-01-29T00:00:00Z" } }));
        assertFails(await verdictOf(P, [fn("nodejs22.x")], { [P]: { referenceTime: "2027-02-01T00:00:00Z" } }), /deprecates on 2027-04-30 \(in 88 days/);
        assertFails(await verdictOf(P, [fn("nodejs22.x")], { [P]: { referenceTime: "2027-05-01T00:00:00Z" } }), /deprecated since 2027-04-30/);
    });
    it("the warning window is configurable (0: from the date itself)", async () => {
        assertPasses(await verdictOf(P, [fn("nodejs22.x")], { [P]: { referenceTime: "2027-04-29T00:00:00Z", failDaysBeforeDeprecation: 0 } }));
        assertFails(await verdictOf(P, [fn("nodejs22.x")], { [P]: { referenceTime: "2026-06-01T00:00:00Z", failDaysBeforeDeprecation: 365 } }), /nodejs22\.x/);
    });
    it("passes a runtime with no announced date", async () => assertPasses(await verdictOf(P, [fn("nodejs24.x")], { [P]: { referenceTime: "2026-01-01T00:00:00Z" } })));
});

describe("policy: resource-type-known-to-pack (advisory)", () => {
    const P = "resource-type-known-to-pack";
    it("reports a type no policy checks, at advisory level", async () => {
        const v = await verdictOf(P, [resource("aws:s3/bucket:Bucket", "b", {})]);
        assert.strictEqual(v.enforcementLevel, "advisory");
        assert.match(messages(v)[0], /aws:s3\/bucket:Bucket is unknown to the pack/);
    });
    it("is silent on checked, reviewed, configured and component types", async () => {
        const v = await verdictOf(P, [resource(T.sqsQueue, "q", {}), resource("aws:kms/key:Key", "k", {}), resource("aws:s3/bucket:Bucket", "b", {}), resource("multicloud-mesh:aws:AlarmTopic", "c", {})], { [P]: { reviewedTypes: ["aws:s3/bucket:Bucket"] } });
        assert.deepStrictEqual(messages(v), []);
    });
});

describe("policy: required-tags takes taggability from the schema list", () => {
    it("a taggable type no one listed by hand (an Event Grid topic) without tags fails", async () =>
        assertFails(await verdictOf("required-tags", [resource("azure-native:eventgrid:Topic", "t", { resourceGroupName: "rg" })]), /lacks required tags/));
});
