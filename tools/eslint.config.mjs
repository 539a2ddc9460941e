// ESLint for the whole program (npm run lint, part of npm test). Kept in tools/ because the user
// fixed the top-level layout. Type-aware: the Pulumi rules need types to recognise an Output
// inside a template string, which the compiler accepts and turns into "Calling [toString] on an Output".
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export default tseslint.config(
    { ignores: ["node_modules/**", "policy/node_modules/**", "bin/**", "**/*.js", "**/*.mjs"] },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // A promise nobody awaits loses its error: in this program that is a lost event or an unseen failure.
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
        },
    },
);
