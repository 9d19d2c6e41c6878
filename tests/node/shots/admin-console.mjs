// Screenshots of every admin-centre page at desktop (1280 px) and phone
// (375 px) width, into GATEHOUSE_SCREENSHOTS; scripts/screenshots runs it
// through ../run against a fresh server. It sets up what the pages show (a
// user, an invited guest, a partner, a what-if, a branding previewed but not
// saved, an app registration with a secret and its enterprise application,
// a group with a member) through the console itself.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';

import { arriveAt, enterPassword, enterUsername, openBrowser, staySignedIn } from '../lib/browser.mjs';
import { partner, server } from '../lib/gatehouse.mjs';
import { shoot as shootTo, widths } from '../lib/shots.mjs';

const srv = server();
const fabrikam = partner();
const out = process.env.GATEHOUSE_SCREENSHOTS;

const shoot = (page, name) => shootTo(page, out, name);

test('screenshots of the admin centre', async (t) => {
  assert.ok(out, 'GATEHOUSE_SCREENSHOTS names the directory for the screenshots');
  mkdirSync(out, { recursive: true });
  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;
  const base = `${srv.base}/admin/${srv.tenantId}`;

  await page.goto(`${srv.base}/admin`);
  await shoot(page, '01-start');
  await page.getByLabel('Organization').fill(srv.domain);
  await page.getByRole('button', { name: 'Continue' }).click();
  await enterUsername(page, srv.admin.userPrincipalName);
  await enterPassword(page, srv.admin.password);
  await staySignedIn(page, false);
  await arriveAt(page, srv.base);
  await page.setViewportSize(widths.desktop);

  await page.goto(`${base}/users`);
  const create = page.locator('form[action$="/users"]');
  await create.getByLabel('Display name').fill('Screenshot User');
  await create.getByLabel('Username', { exact: true }).fill(`shot-${Date.now()}@${srv.domain}`);
  await create.getByLabel('Password', { exact: true }).fill(`Pw-${Date.now()}-correct-horse`);
  await create.getByRole('button', { name: 'Create user' }).click();
  await page.locator('h1').waitFor();
  await shoot(page, '05-user');
  await page.goto(`${base}/users`);
  await page.getByLabel('Email address').fill(`guest-${Date.now()}@${fabrikam.domain}`);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.locator('#external-state').waitFor();
  await shoot(page, '06-guest');

  await page.goto(`${base}/crosstenant`);
  const add = page.locator('form[action$="/crosstenant/partners"]');
  await add.getByLabel('Organization').fill(fabrikam.domain);
  await add.getByLabel('B2B collaboration inbound').selectOption('blocked');
  await add.getByRole('button', { name: 'Add' }).click();
  await page.getByLabel('Home organization (domain or tenant ID)').fill(fabrikam.domain);
  await page.getByLabel('Or the email address of someone to invite').fill(`someone@${fabrikam.domain}`);
  await page.getByRole('button', { name: 'Evaluate' }).click();
  await page.locator('#whatif-result').waitFor();
  await shoot(page, '08-crosstenant-whatif');

  // The branding editor with values typed and previewed, not saved.
  await page.goto(`${base}/branding`);
  await shoot(page, '12-branding');
  await page.getByLabel('Background colour').fill('#1f4e79');
  await page.getByLabel('Sign-in page text').pressSequentially('Contoso staff only. Contact the service desk if you cannot sign in.');
  await page.frameLocator('#preview iframe').locator('p.text', { hasText: 'service desk' }).waitFor();
  await shoot(page, '13-branding-preview');

  // An app registration with a secret just added, and its enterprise application.
  await page.goto(`${base}/apps`);
  const register = page.locator('form[action$="/apps"][method="post"]');
  await register.getByLabel('Name').fill('Contoso Payroll');
  await register.getByLabel('Redirect URI').fill('https://payroll.contoso.example/signin');
  await register.getByRole('button', { name: 'Register' }).click();
  await page.getByText('The application was registered.').waitFor();
  await page.getByLabel('Add a permission').selectOption({ label: 'User.Read (Delegated)' });
  await page.locator('form[action$="/addpermission"]').getByRole('button', { name: 'Add' }).click();
  await page.getByRole('button', { name: 'Grant admin consent for the organization' }).click();
  await page.getByText('Admin consent was granted for the organization.').waitFor();
  await page.getByLabel('Description').fill('Build server');
  await page.getByRole('button', { name: 'Add a client secret' }).click();
  await page.locator('#new-secret').waitFor();
  await shoot(page, '15-app-secret');
  await page.locator('dl.props a').click();
  await page.getByRole('heading', { level: 2, name: 'Permissions granted' }).waitFor();
  await shoot(page, '17-enterpriseapp');

  // A group with a member, found by a search, made through the console.
  await page.goto(`${base}/groups`);
  const group = page.locator('form[action$="/groups"]');
  await group.getByLabel('Display name').fill('Screenshot Team');
  await group.getByLabel('Mail nickname').fill(`shots${Date.now()}`);
  await group.getByLabel('Description').fill('Everyone in the screenshots');
  await group.getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('heading', { level: 1, name: 'Screenshot Team' }).waitFor();
  await page.getByLabel('Find a user or guest').fill('Screenshot');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('button', { name: /^Add as member: / }).first().click();
  await page.getByRole('status').waitFor();
  await shoot(page, '19-group');

  for (const [name, path] of [['14-apps', '/apps'], ['16-enterpriseapps', '/enterpriseapps'], ['18-groups', '/groups'], ['20-roles', '/roles'],
    ['21-role', '/roles/62e90394-69f5-4237-9190-012177145e10'], ['22-collaboration', '/collaboration'],
    ['02-overview', '/'], ['03-users', '/users'], ['04-deleted', '/deleted'],
    ['07-crosstenant', '/crosstenant'], ['09-audit', '/audit'], ['10-signins', '/signins']]) {
    await page.goto(base + path);
    await shoot(page, name);
  }
  for (const lang of ['sv', 'it', 'pl']) {
    await page.goto(`${base}/?lang=${lang}`);
    await shoot(page, `11-overview-${lang}`);
  }
  await page.goto(`${base}/?lang=en`);
});
