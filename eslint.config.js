import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".emulators/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    // Type-aware rules read the types tsc sees: the project service finds tsconfig.json for each file.
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    // Tests get a relaxed set. They read parsed JSON and SDK internals as `any` on purpose
    // (no-unsafe-*), hand spies to expect() (unbound-method), and write fakes of async interfaces
    // that need not await (require-await). The rules that catch real mistakes stay on.
    files: ["tests/**", "emulators/**/*.test.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/unbound-method": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    rules: {
      eqeqeq: ["error", "always"],
      // A promise returned unawaited from a try block escapes its catch and finally.
      "@typescript-eslint/return-await": ["error", "in-try-catch"],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  {
    // The TypeScript resolver maps our NodeNext `./x.js` specifiers onto `./x.ts`; without it every
    // relative import is unresolved and no-cycle would pass without looking at anything.
    plugins: { "import-x": importX },
    // Extensions and parsers as the plugin's own TypeScript preset sets them: a file whose extension
    // is not listed is never parsed, so its imports would silently drop out of the cycle search.
    settings: {
      "import-x/extensions": importX.flatConfigs.typescript.settings["import-x/extensions"],
      "import-x/parsers": importX.flatConfigs.typescript.settings["import-x/parsers"],
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })],
    },
    rules: {
      "import-x/no-cycle": "error",
      "import-x/no-duplicates": "error",
    },
  },
  {
    // Dependencies point one way (DESIGN.md § Components): tests/ and scripts/ may import src/ and
    // emulators/; src/ imports neither, nor the emulators, so the deployed app never carries the
    // harness. The CLI's --emulators comes in through the dev entry scripts/cli.ts.
    files: ["src/**", "functions/**"],
    rules: {
      "import-x/no-restricted-paths": [
        "error",
        {
          zones: [
            {
              target: ["./src", "./functions"],
              from: ["./tests", "./emulators", "./scripts"],
              message: "src/ and functions/ never import tests/, emulators/ or scripts/: inject the capability from a dev entry outside src/ instead.",
            },
          ],
        },
      ],
    },
  },
  // The few JavaScript files (this config, the bin launcher) are outside tsconfig.json: no type-aware rules.
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked },
);
