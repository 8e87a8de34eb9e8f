/**
 * The console page's JS and CSS. The build bundles them into ledge (build.ts defines
 * `__LEDGE_CONSOLE_ASSETS__`); run from source, they are bundled on first use with the esbuild
 * devDependency, through a path esbuild cannot follow, so the binaries never carry esbuild.
 */
declare const __LEDGE_CONSOLE_ASSETS__: { js: string; css: string } | undefined;

let cached: Promise<{ js: string; css: string }> | undefined;

export function consoleAssets(): Promise<{ js: string; css: string }> {
  if (typeof __LEDGE_CONSOLE_ASSETS__ !== "undefined") return Promise.resolve(__LEDGE_CONSOLE_ASSETS__);
  cached ??= (async () => {
    const bundler = new URL("../../../scripts/console-assets.ts", import.meta.url).href;
    const { bundleConsole } = (await import(bundler)) as {
      bundleConsole: () => Promise<{ js: string; css: string }>;
    };
    return bundleConsole();
  })();
  return cached;
}

export function page(csrf: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="ledge-csrf" content="${csrf}"><title>ledge console</title><link rel="stylesheet" href="app.css"></head>
<body><div id="app"></div><script src="app.js"></script></body></html>
`;
}

export const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ledge console: login</title></head>
<body style="font:14px system-ui;margin:3em"><form method="post" action="login">
<p>This console is bound beyond loopback: enter <code>console.token</code>.</p>
<input type="password" name="token" autofocus> <button>Log in</button></form></body></html>
`;
