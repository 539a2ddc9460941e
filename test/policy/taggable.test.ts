import * as assert from "assert";
import * as fs from "fs";
import { TAGGABLE_TYPES } from "../../policy/policies";
import { renderTaggableFile, TAGGABLE_FILE, taggableTypesFromSdks } from "../../tools/policy-taggable";
import { programResources } from "./support";

describe("required-tags: taggability comes from the provider schemas, not a hand list", () => {
    let fromSdks: string[];
    before(function () {
        this.timeout(60_000);
        fromSdks = taggableTypesFromSdks();
    });

    it("policy/taggable-types.ts is what tools/policy-taggable.ts generates from the installed SDKs", () => {
        assert.ok(fromSdks.length > 1000, `only ${fromSdks.length} taggable types found`);
        assert.strictEqual(fs.readFileSync(TAGGABLE_FILE, "utf8"), renderTaggableFile(fromSdks), "regenerate: npx ts-node --transpile-only tools/policy-taggable.ts");
        assert.deepStrictEqual([...TAGGABLE_TYPES].sort(), fromSdks);
    });

    for (const stack of ["dev", "prod"]) {
        it(`every taggable resource the ${stack} program creates is checked by required-tags`, function () {
            this.timeout(180_000);
            const resources = programResources(stack).filter((r) => r.custom && /^(aws|azure-native):/.test(r.type));
            assert.ok(resources.length > 10);
            const skipped = resources.filter((r) => fromSdks.includes(r.type) && !("tags" in r.inputs) && !TAGGABLE_TYPES.has(r.type)).map((r) => `${r.type} ${r.name}`);
            assert.deepStrictEqual(skipped, []);
        });
    }
});
