/**
 * Bundles the console page (src/agent/console/ui: preact + uPlot) into one JS and one CSS string.
 * build.ts defines them into the binaries; from source the console calls this at first request.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as esbuild from "esbuild";

const UI = join(import.meta.dirname, "..", "src", "agent", "console", "ui");

export interface ConsoleAssets {
  js: string;
  css: string;
}

export async function bundleConsole(): Promise<ConsoleAssets> {
  const r = await esbuild.build({
    entryPoints: [join(UI, "main.tsx")],
    bundle: true,
    minify: true,
    write: false,
    outfile: "console.js",
    format: "iife",
    target: "es2020",
    jsx: "automatic",
    jsxImportSource: "preact",
    loader: { ".css": "css" },
    legalComments: "none",
    logLevel: "warning",
  });
  const js = r.outputFiles.find((f) => f.path.endsWith(".js"))?.text ?? "";
  const uplotCss = readFileSync(
    join(UI, "..", "..", "..", "..", "node_modules", "uplot", "dist", "uPlot.min.css"),
    "utf8",
  );
  return { js, css: `${uplotCss}\n${readFileSync(join(UI, "style.css"), "utf8")}` };
}
