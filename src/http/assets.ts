/**
 * The files the built-in pages load: uPlot (the dashboard's charts) from the package's own
 * `node_modules`, and the pages' scripts. Read once when a server starts and served from
 * memory, so the pages work on a host with no internet access.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { indexClient } from './browser/index-client.js';
import { monitoringClient } from './browser/monitoring-client.js';

/** The built-in page that needs an asset: it is served only while that page is. */
export type AssetPage = 'index' | 'monitoring';

export interface StaticAsset {
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
  readonly page: AssetPage;
}

/** Where the pages find their assets. */
export const ASSET_PATHS = {
  uplotScript: '/assets/uplot.min.js',
  uplotStyle: '/assets/uplot.min.css',
  monitoringScript: '/assets/monitoring.js',
  indexScript: '/assets/index.js',
} as const;

const JAVASCRIPT = 'text/javascript; charset=utf-8';

/** A browser script that runs `main` once: its compiled source, called. */
function scriptOf(main: () => void): string {
  return `"use strict";\n(${main.toString()})();\n`;
}

/** Reads uPlot's files and renders the page scripts. Throws when uPlot is not installed. */
export function loadAssets(): readonly StaticAsset[] {
  const require = createRequire(import.meta.url);
  const uplotFile = (name: string): string => readFileSync(require.resolve(`uplot/dist/${name}`), 'utf8');
  return [
    { path: ASSET_PATHS.uplotScript, contentType: JAVASCRIPT, body: uplotFile('uPlot.iife.min.js'), page: 'monitoring' },
    { path: ASSET_PATHS.uplotStyle, contentType: 'text/css; charset=utf-8', body: uplotFile('uPlot.min.css'), page: 'monitoring' },
    { path: ASSET_PATHS.monitoringScript, contentType: JAVASCRIPT, body: scriptOf(monitoringClient), page: 'monitoring' },
    { path: ASSET_PATHS.indexScript, contentType: JAVASCRIPT, body: scriptOf(indexClient), page: 'index' },
  ];
}
