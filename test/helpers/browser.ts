// Opening an HTML report in a real headless Chromium (Debian's, driven by playwright-core)
// with every network request blocked, collecting what went wrong: failed or attempted
// requests, console errors, page errors. Also a PNG check that a screenshot is not blank.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';

/** Launch flags for a shared CI machine: no sandbox (root), no GPU, nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function findChromium(): string | undefined {
  const candidates = [
    process.env.DBOPT_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  return candidates.find((p): p is string => Boolean(p) && existsSync(p!));
}

export interface PageVisit {
  /** Requests other than the file itself (each one blocked). */
  requests: string[];
  failedRequests: string[];
  consoleErrors: string[];
  pageErrors: string[];
  /** innerText of the selectors asked for ('' when absent). */
  texts: Record<string, string>;
  /** data-query of every query section, in order. */
  querySections: string[];
  chartsDrawn: number;
  /** Titles of elements created by script injection: <script> elements beyond the page's own. */
  scriptCount: number;
  screenshot: Buffer;
  /** The first screenful only (README). */
  top: Buffer;
}

export async function visitReport(file: string, selectors: string[], executablePath: string): Promise<PageVisit> {
  const { chromium } = await import('playwright-core');
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'dbopt-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 900 },
  });
  const url = pathToFileURL(file).href;
  const visit: PageVisit = {
    requests: [],
    failedRequests: [],
    consoleErrors: [],
    pageErrors: [],
    texts: {},
    querySections: [],
    chartsDrawn: 0,
    scriptCount: 0,
    screenshot: Buffer.alloc(0),
    top: Buffer.alloc(0),
  };
  try {
    await context.route('**/*', (route) => {
      if (route.request().url() === url) return route.continue();
      visit.requests.push(route.request().url());
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') visit.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => visit.pageErrors.push(String(e)));
    page.on('requestfailed', (r) => visit.failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`));
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts]', { state: 'attached', timeout: 30_000 }).catch(() => undefined);
    for (const s of selectors)
      visit.texts[s] = await page
        .locator(s)
        .first()
        .innerText()
        .catch(() => '');
    visit.querySections = await page
      .locator('section.query')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-query') ?? ''));
    visit.chartsDrawn = Number((await page.locator('body').getAttribute('data-charts')) ?? 0);
    visit.scriptCount = await page.locator('script').count();
    visit.screenshot = await page.screenshot({ fullPage: true });
    visit.top = await page.screenshot({ fullPage: false });
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  return visit;
}

/** Distinct colours in a PNG (sampled on a grid): a blank page has one or two. */
export function distinctColours(png: Buffer): { colours: number; width: number; height: number } {
  const img = PNG.sync.read(png);
  const seen = new Set<number>();
  const step = Math.max(1, Math.floor(Math.sqrt((img.width * img.height) / 200_000)));
  for (let y = 0; y < img.height; y += step) {
    for (let x = 0; x < img.width; x += step) {
      const i = (y * img.width + x) * 4;
      seen.add((img.data[i]! << 16) | (img.data[i + 1]! << 8) | img.data[i + 2]!);
    }
  }
  return { colours: seen.size, width: img.width, height: img.height };
}
