// Headless Chromium through the hosted pages: a full first sign-in to one
// app, single sign-on into a second app in the same browser without
// credentials, RP-initiated logout back to the app, and prompt=none failing
// after it. The apps are openid-client configurations; the browser and the
// server's pages are what is under test.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import * as client from 'openid-client';

import {
  arriveAt, consent, enterPassword, enterUsername, observeSteps, openBrowser, startTestApp, staySignedIn,
} from '../lib/browser.mjs';
import { Graph, server, userScopes } from '../lib/gatehouse.mjs';

const srv = server();
const graph = new Graph(srv);

/** authorization starts a code flow with PKCE, state and nonce. */
async function authorization(config, redirectUri, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const checks = { pkceCodeVerifier: verifier, expectedState: client.randomState(), expectedNonce: client.randomNonce() };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: userScopes,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: checks.expectedState,
    nonce: checks.expectedNonce,
    ...extra,
  });
  return { url, checks };
}

test('sign-in, single sign-on to a second app, RP-initiated logout, then prompt=none needs a login', async (t) => {
  const [site1, site2] = await Promise.all([startTestApp(), startTestApp()]);
  t.after(site1.close);
  t.after(site2.close);
  const redirect1 = `${site1.origin}/callback`;
  const signedOut1 = `${site1.origin}/signed-out`;
  const redirect2 = `${site2.origin}/callback`;
  const [app1, app2, user] = await Promise.all([
    graph.createWebApp('Browser SSO app one', [redirect1, signedOut1]),
    graph.createPublicApp('Browser SSO app two', [redirect2]),
    graph.createUser('sso'),
  ]);
  const issuer = new URL(srv.issuer);
  const config1 = await client.discovery(issuer, app1.appId, app1.secret);
  const config2 = await client.discovery(issuer, app2.appId, undefined, client.None());

  const browser = await openBrowser(srv);
  t.after(browser.close);
  const { page } = browser;

  // App one: every page of a first sign-in, staying signed in.
  const first = await authorization(config1, redirect1);
  const firstSteps = observeSteps(page, srv);
  await page.goto(first.url.href);
  await enterUsername(page, user.userPrincipalName);
  await enterPassword(page, user.password, join(srv.artifacts, 'password.png'));
  await staySignedIn(page, true);
  await consent(page, join(srv.artifacts, 'consent.png'));
  const tokens1 = await client.authorizationCodeGrant(config1, await arriveAt(page, site1.origin), first.checks);
  const claims1 = tokens1.claims();
  assert.equal(claims1.oid, user.id);
  assert.deepEqual(await firstSteps.steps(), ['username', 'password', 'kmsi', 'consent']);

  // App two, same browser: the session signs the user in; only app two's
  // own consent may be asked for.
  const second = await authorization(config2, redirect2);
  const secondSteps = observeSteps(page, srv);
  await page.goto(second.url.href);
  if (new URL(page.url()).origin !== site2.origin) await consent(page);
  const tokens2 = await client.authorizationCodeGrant(config2, await arriveAt(page, site2.origin), second.checks);
  const steps = await secondSteps.steps();
  assert.ok(steps.every((s) => s === 'consent'), `single sign-on showed ${steps.join(', ')}`);
  const claims2 = tokens2.claims();
  assert.equal(claims2.aud, app2.appId);
  assert.equal(claims2.oid, user.id);
  assert.equal(claims2.auth_time, claims1.auth_time, 'the second app got a new authentication, not the session');

  // While signed in, prompt=none succeeds: what follows the logout is the
  // logout's doing.
  const silent = await authorization(config1, redirect1, { prompt: 'none' });
  await page.goto(silent.url.href);
  const silentTokens = await client.authorizationCodeGrant(config1, await arriveAt(page, site1.origin), silent.checks);
  assert.equal(silentTokens.claims().oid, user.id);

  const logoutState = client.randomState();
  await page.goto(client.buildEndSessionUrl(config1, {
    id_token_hint: tokens1.id_token,
    post_logout_redirect_uri: signedOut1,
    state: logoutState,
  }).href);
  const back = await arriveAt(page, site1.origin);
  assert.equal(back.href, `${signedOut1}?${new URLSearchParams({ state: logoutState })}`);

  const after = await authorization(config1, redirect1, { prompt: 'none' });
  await page.goto(after.url.href);
  const denied = await arriveAt(page, site1.origin);
  await assert.rejects(client.authorizationCodeGrant(config1, denied, after.checks), (err) => {
    assert.ok(err instanceof client.AuthorizationResponseError, `want an AuthorizationResponseError, got ${err}`);
    assert.equal(err.error, 'login_required', `${err.error}: ${err.error_description}`);
    return true;
  });

  // A post-logout URI that is not registered is never followed.
  const unregistered = `${site1.origin}/not-registered`;
  await page.goto(client.buildEndSessionUrl(config1, { client_id: app1.appId, post_logout_redirect_uri: unregistered }).href);
  assert.equal(new URL(page.url()).origin, srv.base, `logout followed the unregistered ${unregistered}`);

  assert.deepEqual(site1.requests.map((r) => r.url.pathname), ['/callback', '/callback', '/signed-out', '/callback']);
  assert.deepEqual(site2.requests.map((r) => r.url.pathname), ['/callback']);
  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});
