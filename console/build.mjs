// Builds the console into app/console/ (served by `storyline serve`): one bundle,
// the page and the stylesheet. Deterministic: CI rebuilds and compares.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = new URL("../app/console/", import.meta.url).pathname;
mkdirSync(`${out}assets`, { recursive: true });
await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  format: "esm",
  minify: true,
  legalComments: "linked",
  target: ["chrome110", "firefox110", "safari16"],
  outfile: `${out}assets/console.js`,
  logLevel: "warning",
});
copyFileSync("src/index.html", `${out}index.html`);
copyFileSync("src/style.css", `${out}assets/console.css`);
