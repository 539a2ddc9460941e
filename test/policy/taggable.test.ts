import * as assert from "assert";
import * as fs from "fs";
import { TAGGABLE_TYPES } from "../../policy/policies";
import { programResources } from "./support";

/**
 * Whether the provider SDK's resource class sends a `tags` input: the SDKs are generated from the
 * providers' schemas, so this is the schema's answer. `aws:sqs/queue:Queue` → @pulumi/aws/sqs/queue.js,
 * `azure-native:servicebus:Namespace` → @pulumi/azure-native/servicebus/namespace.js.
 */
function sdkTakesTags(type: string): boolean {
    const [pkg, module, name] = type.split(":");
    const file =
        pkg === "aws"
            ? `@pulumi/aws/${module.split("/")[0]}/${module.split("/")[1]}.js`
            : `@pulumi/azure-native/${module}/${name[0].toLowerCase()}${name.slice(1)}.js`;
    const source = fs.readFileSync(require.resolve(file), "utf8");
    return /resourceInputs\["tags"\] = args/.test(source);
}

describe("required-tags: the list of taggable types agrees with the provider SDKs", () => {
    it("every type in TAGGABLE_TYPES takes tags", () => {
        const wrong = [...TAGGABLE_TYPES].filter((t) => !sdkTakesTags(t));
        assert.deepStrictEqual(wrong, []);
    });

    for (const stack of ["dev", "prod"]) {
        it(`required-tags never skips a taggable resource the ${stack} program creates`, function () {
            this.timeout(180_000);
            const resources = programResources(stack).filter((r) => r.custom && /^(aws|azure-native):/.test(r.type));
            assert.ok(resources.length > 10);
            // The policy sees a resource as taggable when its props show `tags`, or when its type is listed;
            // a resource that sets no tags must therefore have its type listed, or it would pass unchecked.
            const skipped = resources.filter((r) => sdkTakesTags(r.type) && !("tags" in r.inputs) && !TAGGABLE_TYPES.has(r.type)).map((r) => `${r.type} ${r.name}`);
            assert.deepStrictEqual(skipped, []);
            const wronglyListed = [...new Set(resources.map((r) => r.type))].filter((t) => TAGGABLE_TYPES.has(t) && !sdkTakesTags(t));
            assert.deepStrictEqual(wronglyListed, []);
        });
    }
});
