// oidc-provider with one confidential client that may use client_credentials,
// issuing JWT access tokens signed with ALG (RS256 or ES256): the third server
// scripts/compare-token-servers measures beside Gatehouse and Dex.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const alg = process.env.ALG || 'RS256';
const port = Number(process.env.PORT || 3000);
const pair = alg === 'ES256'
  ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
  : generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...pair.privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: 'load' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'load-client',
    client_secret: 'load-client-secret-0123456789',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: alg,
  }],
  jwks: { keys: [jwk] },
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:load:api',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg } } }),
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider ${alg} on ${port}`));
