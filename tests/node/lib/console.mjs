// The admin centre's pages in headless Chromium: signing in to the console
// through the tenant's hosted pages, and the check every console page must
// pass (axe-core with no serious or critical violation, no sideways scroll
// on a phone), with a screenshot of each width into the run's artifacts.
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { seriousViolations } from './axe.mjs';
import { arriveAt, describePage, enterPassword, enterUsername, staySignedIn } from './browser.mjs';

/**
 * checkPage runs axe on the page and checks the phone layout; its
 * screenshots are named {prefix}-{name}.
 */
export async function checkPage(srv, page, name, prefix = 'admin') {
  assert.deepEqual(await seriousViolations(page), [], `axe on ${name} (${page.url()})`);
  await page.setViewportSize({ width: 375, height: 740 });
  const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (sideways > 0) {
    // The elements that stick out, innermost last, to say what to fix.
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth)
      .slice(-5).map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${el.className}` : ''}`));
    assert.fail(`${name} scrolls sideways by ${sideways}px at 375px: ${wide.join(', ')}`);
  }
  await page.screenshot({ path: join(srv.artifacts, `${prefix}-${name}-mobile.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(srv.artifacts, `${prefix}-${name}.png`), fullPage: true });
}

/** signInToConsole walks /admin, the tenant prompt and the hosted pages. */
export async function signInToConsole(srv, page) {
  await page.goto(`${srv.base}/admin`);
  await checkPage(srv, page, 'start');
  await page.getByLabel('Organization').fill(srv.domain);
  await page.getByRole('button', { name: 'Continue' }).click();
  await enterUsername(page, srv.admin.userPrincipalName);
  await enterPassword(page, srv.admin.password);
  await staySignedIn(page, false);
  await arriveAt(page, srv.base);
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor({ timeout: 15_000 }).catch(async () => {
    throw new Error(`not on the console's overview: ${await describePage(page)}`);
  });
}

/** auditHas filters the audit log page by activity and finds target in it. */
export async function auditHas(srv, page, activity, target) {
  await page.goto(`${srv.base}/admin/${srv.tenantId}/audit?${new URLSearchParams({ activity })}`);
  const rows = page.locator('tbody tr', { hasText: activity });
  const texts = await rows.allInnerTexts();
  assert.ok(texts.some((t) => t.includes(target) && t.includes(srv.admin.userPrincipalName)),
    `no audit record "${activity}" of ${target} by ${srv.admin.userPrincipalName}: ${JSON.stringify(texts)}`);
}
