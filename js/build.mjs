// Bundles the frontend into the Python package (optiml_widgets/static/): the panel's ES
// module + CSS, and the chart engine (vega-embed) as a module of its own that the panel
// loads only when the global views are first shown.
import { copyFileSync } from "node:fs";
import { build } from "esbuild";

const common = {
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  // UMD code must not register itself with a require.js that may be on the page.
  define: { "define.amd": "false" },
  logLevel: "warning",
};
await build({ ...common, entryPoints: ["src/index.ts"], outfile: "../optiml_widgets/static/widget.js" });
await build({ ...common, entryPoints: ["src/vega.ts"], outfile: "../optiml_widgets/static/vega.js" });
copyFileSync("src/widget.css", "../optiml_widgets/static/widget.css");
