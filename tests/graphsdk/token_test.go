package graphsdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/microsoft/kiota-abstractions-go/authentication"
)

// tokenRefreshMargin renews a token this long before it expires so a request
// never leaves with a token that dies in flight.
const tokenRefreshMargin = 30 * time.Second

// clientCredentialsProvider is a Kiota AccessTokenProvider doing the OAuth 2.0
// client-credentials grant against Gatehouse's Entra-style token endpoint.
// azidentity cannot be used: it only accepts https authorities on Microsoft's
// hosts, while this test talks plain http to loopback.
type clientCredentialsProvider struct {
	tokenURL     string
	clientID     string
	clientSecret string
	scope        string
	hosts        *authentication.AllowedHostsValidator
	http         *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

// tokenResponse is the token endpoint's success body.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// newClientCredentialsProvider targets {base}/{tenantId}/oauth2/v2.0/token and
// only hands tokens to requests for the base URL's host.
func newClientCredentialsProvider(base, tenantID, clientID, clientSecret string) (*clientCredentialsProvider, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("parse base url: %w", err)
	}
	hosts, err := authentication.NewAllowedHostsValidatorErrorCheck([]string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("allowed hosts: %w", err)
	}
	return &clientCredentialsProvider{
		tokenURL:     base + "/" + url.PathEscape(tenantID) + "/oauth2/v2.0/token",
		clientID:     clientID,
		clientSecret: clientSecret,
		scope:        base + "/.default",
		hosts:        hosts,
		http:         &http.Client{Timeout: 30 * time.Second},
	}, nil
}

// GetAuthorizationToken implements authentication.AccessTokenProvider.
func (p *clientCredentialsProvider) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	// Refusing (rather than sending no token) makes a stray @odata.nextLink
	// to another host fail the test instead of silently going anonymous.
	if !p.hosts.IsUrlHostValid(u) {
		return "", fmt.Errorf("refusing to send a token to %s: host not allowed", u.Redacted())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.token != "" && time.Now().Before(p.expires) {
		return p.token, nil
	}
	tok, err := p.fetch(ctx)
	if err != nil {
		return "", err
	}
	p.token = tok.AccessToken
	p.expires = time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second - tokenRefreshMargin)
	return p.token, nil
}

// GetAllowedHostsValidator implements authentication.AccessTokenProvider.
func (p *clientCredentialsProvider) GetAllowedHostsValidator() *authentication.AllowedHostsValidator {
	return p.hosts
}

func (p *clientCredentialsProvider) fetch(ctx context.Context) (*tokenResponse, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {p.clientID},
		"client_secret": {p.clientSecret},
		"scope":         {p.scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: status %s: %s", p.tokenURL, resp.Status, body)
	}
	var tok tokenResponse
	if err := json.Unmarshal(body, &tok); err != nil {
		return nil, fmt.Errorf("decode token response %q: %w", body, err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") || tok.ExpiresIn <= 0 {
		return nil, fmt.Errorf("POST %s: unusable token response %s", p.tokenURL, body)
	}
	return &tok, nil
}
