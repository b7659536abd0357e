// Copy exactly the files the Sarhad node serves from node_modules into
// src/sarhad/web/static/vendor/ (run by scripts/build-frontend.sh after `npm ci`).
// The list is explicit so the node never serves more than the pages load, and a missing
// file (a package changed its layout) fails the build instead of a page at run time.
import { cpSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const target = resolve(here, "..", "..", "src", "sarhad", "web", "static", "vendor");

/** [source under node_modules, destination under vendor] */
const files = [
  ["leaflet/dist/leaflet.js", "leaflet/leaflet.js"],
  ["leaflet/dist/leaflet.css", "leaflet/leaflet.css"],
  ["leaflet/dist/images/layers.png", "leaflet/images/layers.png"],
  ["leaflet/dist/images/layers-2x.png", "leaflet/images/layers-2x.png"],
  ["leaflet/dist/images/marker-icon.png", "leaflet/images/marker-icon.png"],
  ["leaflet/dist/images/marker-icon-2x.png", "leaflet/images/marker-icon-2x.png"],
  ["leaflet/dist/images/marker-shadow.png", "leaflet/images/marker-shadow.png"],
  ["leaflet/LICENSE", "leaflet/LICENSE"],
  // The UMD build bundles kdbush and defines self.Supercluster; the map's worker loads it.
  ["supercluster/dist/supercluster.min.js", "supercluster/supercluster.min.js"],
  ["supercluster/LICENSE", "supercluster/LICENSE"],
  // The UMD build bundles @kurkle/color and defines window.Chart; no module loader needed.
  ["chart.js/dist/chart.umd.js", "chart.js/chart.umd.js"],
  ["chart.js/LICENSE.md", "chart.js/LICENSE.md"],
  ["@fontsource/noto-nastaliq-urdu/LICENSE", "fonts/LICENSE-noto-nastaliq-urdu.txt"],
  ["@fontsource/vazirmatn/LICENSE", "fonts/LICENSE-vazirmatn.txt"],
  ["@fontsource/noto-sans/LICENSE", "fonts/LICENSE-noto-sans.txt"],
];

/** The font files src/sarhad/web/static/css/fonts.css refers to: [package, file stem]. */
const fonts = [
  ["noto-nastaliq-urdu", "noto-nastaliq-urdu-arabic-400-normal"],
  ["noto-nastaliq-urdu", "noto-nastaliq-urdu-arabic-700-normal"],
  ["vazirmatn", "vazirmatn-arabic-400-normal"],
  ["vazirmatn", "vazirmatn-arabic-700-normal"],
  ["vazirmatn", "vazirmatn-latin-400-normal"],
  ["vazirmatn", "vazirmatn-latin-700-normal"],
  ["noto-sans", "noto-sans-latin-400-normal"],
  ["noto-sans", "noto-sans-latin-700-normal"],
  ["noto-sans", "noto-sans-latin-ext-400-normal"],
  ["noto-sans", "noto-sans-latin-ext-700-normal"],
];
for (const [pkg, stem] of fonts) {
  files.push([`@fontsource/${pkg}/files/${stem}.woff2`, `fonts/${stem}.woff2`]);
}

const missing = files.filter(([src]) => !existsSync(join(modules, src)));
if (missing.length) {
  console.error("build-frontend: these files are missing from web/frontend/node_modules:");
  for (const [src] of missing) console.error(`  ${src}`);
  console.error("Run `npm ci` in web/frontend, or update copy-vendor.mjs if a package moved them.");
  process.exit(1);
}

// Start clean so files a previous build copied (and no page loads now) do not linger.
rmSync(target, { recursive: true, force: true });
let bytes = 0;
for (const [src, dest] of files) {
  const to = join(target, dest);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(join(modules, src), to);
  bytes += statSync(to).size;
}
console.log(`build-frontend: copied ${files.length} files (${Math.round(bytes / 1024)} KiB) to ${target}`);
