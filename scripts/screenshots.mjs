// Photographs the dashboard of the mock at MOCK_URL into OUT_DIR (run by scripts/screenshots.py).
import { mkdir } from 'node:fs/promises';

const { chromium } = await import(new URL('../tests/node/node_modules/playwright-core/index.mjs', import.meta.url));

const mockUrl = process.env.MOCK_URL;
const outDir = process.env.OUT_DIR;
const theme = process.env.THEME || 'light';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  await mkdir(outDir, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: theme });
  await page.goto(`${mockUrl}/__admin/ui`);
  await page.waitForSelector('#request-list li.request');
  // The scripted Chinese reply, selected: list and detail side by side.
  await page.locator('#request-list li.request', { hasText: '你好' }).first().click();
  await page.waitForSelector('#answered-by');
  await page.screenshot({ path: `${outDir}/dashboard-list.png` });
  // The stream's timeline.
  await page.locator('#request-list li.request', { hasText: 'weather' }).first().click();
  await page.waitForSelector('#timeline .frame');
  await page.locator('#timeline').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${outDir}/dashboard-stream.png` });
  if (process.env.ALL === '1') {
    // For looking at the page, not for the README.
    await page.locator('#request-list li.request', { hasText: 'haiku' }).first().click();
    await page.waitForSelector('#answered-by');
    await page.locator('#save-fixture').click();
    await page.waitForSelector('#editor[open]');
    await page.waitForFunction(() => document.getElementById('editor-state').textContent !== '');
    await page.screenshot({ path: `${outDir}/dashboard-editor.png` });
    await page.locator('#editor-cancel').click();
    await page.locator('#request-list li.request', { hasText: 'Be creative' }).first().click();
    await page.waitForSelector('.jl.violation');
    await page.screenshot({ path: `${outDir}/dashboard-violation.png` });
    await page.click('#tab-fixtures');
    await page.waitForSelector('#fixture-rows tr');
    await page.screenshot({ path: `${outDir}/dashboard-fixtures.png` });
  }
  console.log(`screenshots written to ${outDir}`);
} finally {
  await browser.close();
}
