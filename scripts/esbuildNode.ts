import type { BuildOptions } from "esbuild";

/**
 * What both of our bundles (the Functions entry, scripts/build.ts; the operator CLI,
 * scripts/buildCli.ts) are built with: one ES module for Node 22, with what it loads through
 * import() split into chunks read only on first use.
 */
export const NODE_ESM_BUNDLE = {
  // What packages load with import() (apache-arrow in storage-blob, the Azure Monitor distro, the
  // CLI's commands) goes to chunks/ and is read only when first used, not on every start.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  target: "node22",
  // ESM builds first: a package's UMD "main" (jsonc-parser) hides its require()s from esbuild,
  // which left require('./impl/format') unresolved in the bundle; the ESM build is also the one
  // esbuild can tree-shake.
  mainFields: ["module", "main"] as string[],
  format: "esm",
  // Less to parse at start; the source map points stack traces back at src/.
  sourcemap: "linked",
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  legalComments: "linked",
  logLevel: "warning",
} as const satisfies BuildOptions;
