// Replaced at build time by esbuild's `define` (build.ts); the fallbacks serve `tsx` runs from source.
declare const __LEDGE_VERSION__: string | undefined;
declare const __LEDGE_COMMIT__: string | undefined;

export const VERSION = typeof __LEDGE_VERSION__ === "string" ? __LEDGE_VERSION__ : "0.0.0-dev";
export const COMMIT = typeof __LEDGE_COMMIT__ === "string" ? __LEDGE_COMMIT__ : "source";
export const VERSION_STRING = `ledge ${VERSION} (${COMMIT})`;
