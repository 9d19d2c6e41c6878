// App registrations and enterprise applications in the admin centre, in
// headless Chromium: an administrator registers an application, adds a
// client secret (shown once), a Microsoft Graph permission and grants admin
// consent, opens its enterprise application, then deletes the app; axe-core
// finds no serious or critical violation on any of these pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openBrowser } from '../lib/browser.mjs';
import { checkPage, signInToConsole } from '../lib/console.mjs';
import { server } from '../lib/gatehouse.mjs';

const srv = server();

test('an administrator registers an application, adds a secret and a permission, consents, deletes it', async (t) => {
  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;
  await signInToConsole(srv, page);
  const name = `Node app ${Date.now()}`;

  await page.getByRole('link', { name: 'App registrations' }).click();
  await page.getByRole('heading', { level: 1, name: 'App registrations' }).waitFor();
  await checkPage(srv, page, 'apps');
  const register = page.locator('form[action$="/apps"][method="post"]');
  await register.getByLabel('Name').fill(name);
  await register.getByLabel('Platform').selectOption('spa');
  await register.getByLabel('Redirect URI').fill('https://node-app.example/callback');
  await register.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await page.getByText('The application was registered.').waitFor();
  await checkPage(srv, page, 'app');
  const appPage = page.url().replace(/\?.*$/, '');

  try {
    await page.getByLabel('Description').fill('node');
    await page.getByRole('button', { name: 'Add a client secret' }).click();
    const secret = await page.locator('#new-secret').innerText();
    assert.ok(secret.length > 30, 'a secret is shown');
    await checkPage(srv, page, 'app-secret');
    await page.goto(appPage);
    assert.equal(await page.locator('#new-secret').count(), 0, 'the secret is shown once');
    assert.ok(!(await page.content()).includes(secret), 'the app page holds the secret again');

    await page.getByLabel('Add a permission').selectOption({ label: 'User.Read (Delegated)' });
    await page.locator('form[action$="/addpermission"]').getByRole('button', { name: 'Add' }).click();
    await page.getByRole('cell', { name: 'User.Read', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Grant admin consent for the organization' }).click();
    await page.getByText('Admin consent was granted for the organization.').waitFor();

    await page.locator('dl.props a').click();
    await page.getByRole('heading', { level: 2, name: 'Permissions granted' }).waitFor();
    assert.match(await page.locator('section[aria-labelledby="granted"]').innerText(), /User\.Read/);
    await checkPage(srv, page, 'enterpriseapp');
    await page.getByRole('button', { name: 'Require assignment' }).click();
    await page.getByRole('button', { name: 'Stop requiring assignment' }).waitFor();

    await page.getByRole('link', { name: 'Enterprise applications' }).click();
    await page.getByRole('heading', { level: 1, name: 'Enterprise applications' }).waitFor();
    await checkPage(srv, page, 'enterpriseapps');
  } finally {
    await page.goto(appPage);
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'App registrations' }).waitFor();
  }
  assert.equal(await page.getByRole('link', { name }).count(), 0, 'the app was not deleted');
  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});
