// The hosted pages (start page, cards, sign-in steps, device code, sign-out,
// an invitation's redemption declined) in headless Chromium, in a branded
// tenant: axe-core finds no serious or
// critical violation on any, and none scrolls sideways on a 375 px phone.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openBrowser } from '../lib/browser.mjs';
import { checkPage } from '../lib/console.mjs';
import { partner, server } from '../lib/gatehouse.mjs';
import { walkHostedPages } from '../lib/hosted.mjs';

const fabrikam = partner();
// The pages of the tenant carry its branding; the start page, the cards
// before a tenant is known and the inviting tenant's (not branded) do not.
const branded = ['username', 'password', 'kmsi', 'consent', 'device', 'device-done', 'signout', 'signed-out'];

test('the hosted pages pass axe and fit a phone', async (t) => {
  const browser = await openBrowser(fabrikam);
  t.after(browser.close);
  const { page } = browser;
  const visited = [];
  await walkHostedPages(fabrikam, server(), page, async (name) => {
    visited.push(name);
    await checkPage(fabrikam, page, name, 'hosted');
    if (name === 'password') {
      assert.equal(await page.locator('a[href="https://help.example/reset"]').count(), 1, 'the account help link');
    }
    if (branded.includes(name)) {
      assert.equal(await page.locator('footer.links a[href="https://example.com/terms"]').count(), 1, `the terms link on ${name}`);
      assert.match(await page.locator('img.logo').getAttribute('src'), /^\/branding\/.+\/0\/bannerLogo\/[0-9a-f]{64}\.png$/, `the logo on ${name}`);
      assert.ok(await page.locator('img.logo').evaluate((img) => img.complete && img.naturalWidth === 120), `the logo loads on ${name}`);
    }
  });
  assert.deepEqual(visited, ['start', 'not-found', 'error', 'username', 'password', 'kmsi', 'consent', 'device', 'device-done', 'signout', 'signed-out', 'invite', 'review', 'declined']);
  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});
