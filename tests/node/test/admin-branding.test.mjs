// The admin centre's branding editor in headless Chromium: the
// administrator types a background colour and a sign-in text, the preview
// (the hosted sign-in page in a sandboxed frame) shows them before
// anything is saved, a bad colour is shown next to its field, the save
// reaches the tenant's hosted sign-in page and the audit log; axe-core
// finds no serious or critical violation on the page.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { expectStep, openBrowser } from '../lib/browser.mjs';
import { checkPage, signInToConsole } from '../lib/console.mjs';
import { server } from '../lib/gatehouse.mjs';

const srv = server();

test('an administrator edits the branding with a live preview and saves it', async (t) => {
  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;
  await signInToConsole(srv, page);
  const base = `${srv.base}/admin/${srv.tenantId}`;

  await page.getByRole('link', { name: 'Company branding' }).click();
  await page.getByRole('heading', { level: 1, name: 'Company branding' }).waitFor();
  const frame = page.frameLocator('#preview iframe');
  await frame.locator('main[data-step="username"]').waitFor();
  assert.equal(await page.locator('#preview iframe').getAttribute('sandbox'), '', 'the preview runs sandboxed');
  assert.equal(await page.locator('#preview').getAttribute('aria-live'), 'polite');
  await checkPage(srv, page, 'branding');

  // Other tests share the tenant: its branding goes whatever happens here.
  const clear = async () => {
    await page.goto(`${base}/branding`);
    for (const label of ['Background colour', 'Banner logo URL', 'Sign-in page text']) await page.getByLabel(label).fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('The branding was saved.').waitFor();
  };
  try {
    await editAndSave(page, base);
  } finally {
    await clear();
  }
});

/** editAndSave types a branding, sees it previewed, refused and saved. */
async function editAndSave(page, base) {
  const frame = page.frameLocator('#preview iframe');
  const text = `Node acceptance ${Date.now()}: staff only.`;
  await page.getByLabel('Background colour').fill('#1a2b3c');
  await page.getByLabel('Sign-in page text').pressSequentially(text);
  await frame.locator('p.text', { hasText: text }).waitFor({ timeout: 10_000 });
  const background = await frame.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(background, 'rgb(26, 43, 60)', 'the preview shows the colour typed');

  // Nothing is saved yet: the tenant's hosted sign-in page is as it was.
  const user = await openBrowser(srv);
  try {
    await checkSaved(page, user, base, text);
  } finally {
    await user.close();
  }
}

/** checkSaved: the branding typed reaches the hosted page only when saved. */
async function checkSaved(page, user, base, text) {
  const signIn = async () => {
    await user.page.goto(`${base}/signin`);
    await expectStep(user.page, 'username');
  };
  await signIn();
  assert.equal(await user.page.locator('p.text', { hasText: text }).count(), 0, 'the preview saved the branding');

  // A bad colour is refused, next to its field.
  await page.getByLabel('Background colour').fill('blue');
  await page.getByRole('button', { name: 'Save' }).click();
  const problem = page.locator('#b-backgroundColor-error');
  await problem.waitFor();
  assert.match(await problem.innerText(), /backgroundColor/);
  assert.equal(await page.getByLabel('Background colour').getAttribute('aria-invalid'), 'true');
  await checkPage(srv, page, 'branding-invalid');

  await page.getByLabel('Background colour').fill('#1a2b3c');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('The branding was saved.').waitFor();
  assert.equal(await page.getByLabel('Sign-in page text').inputValue(), text);

  await signIn();
  await user.page.locator('p.text', { hasText: text }).waitFor();
  assert.equal(await user.page.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(26, 43, 60)');

  await page.goto(`${base}/audit`);
  const rows = await page.locator('tbody tr', { hasText: 'company branding' }).allInnerTexts();
  assert.ok(rows.some((r) => r.includes(srv.admin.userPrincipalName)), `no audit record of the branding saved: ${JSON.stringify(rows)}`);
}
