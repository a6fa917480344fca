// Bundles the frontend into the Python package (optiml_widgets/static/), one ES module + CSS.
import { copyFileSync } from "node:fs";
import { build } from "esbuild";

await build({
  entryPoints: ["src/index.ts"],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  // UMD code must not register itself with a require.js that may be on the page.
  define: { "define.amd": "false" },
  outfile: "../optiml_widgets/static/widget.js",
  logLevel: "warning",
});
copyFileSync("src/widget.css", "../optiml_widgets/static/widget.css");
