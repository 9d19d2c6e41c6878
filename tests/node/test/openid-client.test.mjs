// openid-client (panva), unmodified, as a relying party of a Gatehouse
// tenant: discovery, client_credentials to the Graph API, and the
// authorization code flow with PKCE for a confidential web app whose
// browser part Chromium walks through the hosted pages, with openid-client's
// own checks of state, nonce and the ID token's signature and claims, then
// userinfo and refresh-token rotation.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as client from 'openid-client';

import { openBrowser, signInFresh, startTestApp } from '../lib/browser.mjs';
import { Graph, server, userScopes } from '../lib/gatehouse.mjs';

const srv = server();
const graph = new Graph(srv);
const tenantBase = `${srv.base}/${srv.tenantId}`;

async function graphGet(config, accessToken, path) {
  const res = await client.fetchProtectedResource(config, accessToken, new URL(`${srv.base}/v1.0${path}`), 'GET');
  const body = await res.text();
  assert.equal(res.status, 200, `GET /v1.0${path}: ${body}`);
  return JSON.parse(body);
}

function isInvalidGrant(err) {
  assert.ok(err instanceof client.ResponseBodyError, `want a ResponseBodyError, got ${err}`);
  assert.equal(err.error, 'invalid_grant', `${err.error}: ${err.error_description}`);
  return true;
}

test('discovery by tenant id and by verified domain', async () => {
  const config = await client.discovery(new URL(srv.issuer), srv.automation.clientId, srv.automation.clientSecret);
  const as = config.serverMetadata();
  assert.equal(as.issuer, srv.issuer);
  assert.equal(as.authorization_endpoint, `${tenantBase}/oauth2/v2.0/authorize`);
  assert.equal(as.token_endpoint, `${tenantBase}/oauth2/v2.0/token`);
  assert.equal(as.userinfo_endpoint, `${tenantBase}/oidc/userinfo`);
  assert.equal(as.end_session_endpoint, `${tenantBase}/oauth2/v2.0/logout`);
  assert.ok(as.supportsPKCE(), `S256 not in code_challenge_methods_supported: ${as.code_challenge_methods_supported}`);

  // A domain-addressed document still names the GUID issuer, as Entra's do;
  // openid-client takes a full document URL without comparing issuers.
  const byDomain = await client.discovery(
    new URL(`${srv.base}/${srv.domain}/v2.0/.well-known/openid-configuration`),
    srv.automation.clientId, srv.automation.clientSecret);
  assert.equal(byDomain.serverMetadata().issuer, srv.issuer);
  assert.equal(byDomain.serverMetadata().token_endpoint, as.token_endpoint);
});

test('client_credentials for the automation app lists users through Graph', async () => {
  const config = await client.discovery(new URL(srv.issuer), srv.automation.clientId, srv.automation.clientSecret);
  const tokens = await client.clientCredentialsGrant(config, { scope: `${srv.base}/.default` });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.expiresIn() > 0, `expires_in ${tokens.expires_in}`);
  assert.equal(tokens.refresh_token, undefined, 'client_credentials must not issue a refresh token');

  const users = await graphGet(config, tokens.access_token, '/users');
  assert.ok(Array.isArray(users.value), `no value array: ${JSON.stringify(users)}`);
  assert.ok(users.value.some((u) => u.userPrincipalName === srv.admin.userPrincipalName),
    `the tenant's admin ${srv.admin.userPrincipalName} is not among ${users.value.map((u) => u.userPrincipalName)}`);
});

test('a confidential web app is refused without PKCE', async (t) => {
  const rp = await startTestApp();
  t.after(rp.close);
  const redirectUri = `${rp.origin}/signin-oidc`;
  const app = await graph.createWebApp('openid-client app without PKCE', [redirectUri]);
  const config = await client.discovery(new URL(srv.issuer), app.appId, app.secret);
  const state = client.randomState();
  const res = await fetch(client.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: userScopes, state }), { redirect: 'manual' });
  assert.equal(res.status, 302, `authorize without code_challenge: HTTP ${res.status}: ${await res.text()}`);
  const location = new URL(res.headers.get('location'));
  assert.equal(`${location.origin}${location.pathname}`, redirectUri);
  await assert.rejects(client.authorizationCodeGrant(config, location, { expectedState: state }), (err) => {
    assert.ok(err instanceof client.AuthorizationResponseError, `want an AuthorizationResponseError, got ${err}`);
    assert.equal(err.error, 'invalid_request', `${err.error}: ${err.error_description}`);
    return true;
  });
});

test('authorization code with PKCE for a confidential web app, userinfo, /me and refresh rotation', async (t) => {
  const rp = await startTestApp();
  t.after(rp.close);
  const redirectUri = `${rp.origin}/signin-oidc`;
  const app = await graph.createWebApp('openid-client web app', [redirectUri]);
  const user = await graph.createUser('oidc-client');

  const config = await client.discovery(new URL(srv.issuer), app.appId, app.secret, undefined, {
    execute: [client.enableNonRepudiationChecks],
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizeURL = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: userScopes,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  const browser = await openBrowser(srv);
  t.after(browser.close);
  const callback = await signInFresh(browser.page, authorizeURL, user, rp.origin);
  assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
  assert.deepEqual(rp.requests.map((r) => r.url.href), [callback.href], 'the app saw other requests than its callback');

  // openid-client checks state, exchanges the code with the verifier, and
  // (non-repudiation) verifies the ID token's signature against the JWKS
  // besides iss, aud, exp, iat and nonce.
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.iss, srv.issuer);
  assert.equal(claims.aud, app.appId);
  assert.equal(claims.tid, srv.tenantId);
  assert.equal(claims.oid, user.id);
  assert.equal(claims.preferred_username, user.userPrincipalName);
  assert.equal(claims.name, user.displayName);
  assert.equal(claims.nonce, nonce);
  assert.ok(tokens.refresh_token, 'offline_access was granted but no refresh token was issued');

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.oid, user.id);
  assert.equal(info.tid, srv.tenantId);
  assert.equal(info.preferred_username, user.userPrincipalName);

  const me = await graphGet(config, tokens.access_token, '/me');
  assert.equal(me.id, user.id);
  assert.equal(me.userPrincipalName, user.userPrincipalName);

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.refresh_token, 'refresh did not rotate the refresh token');
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);
  assert.equal((await graphGet(config, refreshed.access_token, '/me')).id, user.id);

  // The spent refresh token is refused, and presenting it again ends the
  // whole sign-in: the token that replaced it dies too.
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), isInvalidGrant);
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), isInvalidGrant);

  assert.deepEqual(browser.offLoopback(), [], 'the browser tried to leave the loopback servers');
});
