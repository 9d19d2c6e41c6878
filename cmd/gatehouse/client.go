package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// The CLI signs in as a person by the device code flow and calls the API
// with their delegated token, like `az login` / `az rest`.

// cliScopes: sign-in, a refresh token, the admin's own directory rights, and
// the cross-tenant access settings and tenant lookups, which Graph keeps
// outside Directory.AccessAsUser.All (gatehouse xtap).
const cliScopes = "openid profile offline_access Directory.AccessAsUser.All Policy.ReadWrite.CrossTenantAccess CrossTenantInformation.ReadBasic.All"

// credentials are what `gatehouse login` keeps between commands, in a file
// only the user can read: a refresh token is a long-lived secret.
type credentials struct {
	URL          string    `json:"url"`
	Tenant       string    `json:"tenant"`
	CAFile       string    `json:"caFile,omitempty"`
	Account      string    `json:"account"`
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

func credentialsPath() (string, error) {
	dir := os.Getenv("GATEHOUSE_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(base, "gatehouse")
	}
	return filepath.Join(dir, "credentials.json"), nil
}

func loadCredentials() (credentials, error) {
	var c credentials
	p, err := credentialsPath()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return c, errors.New("not signed in: run `gatehouse login` first")
	}
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

func (c credentials) save() error {
	p, err := credentialsPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// httpClient trusts the system roots plus, for development servers, a CA file.
func httpClient(caFile string) (*http.Client, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return c, nil
}

// tokenReply is a token endpoint answer, success or OAuth error.
type tokenReply struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	ExpiresIn        int64  `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func postForm(ctx context.Context, c *http.Client, endpoint string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s answered %d: %.200s", endpoint, resp.StatusCode, body)
	}
	return nil
}

func loginCmd(stdout io.Writer) *cobra.Command {
	var c credentials
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in as a person (device code) for the commands that call the API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.URL = strings.TrimSuffix(c.URL, "/")
			if c.CAFile != "" {
				// Kept in the credentials for later commands, run from
				// anywhere.
				abs, err := filepath.Abs(c.CAFile)
				if err != nil {
					return err
				}
				c.CAFile = abs
			}
			client, err := httpClient(c.CAFile)
			if err != nil {
				return err
			}
			return deviceLogin(cmd.Context(), client, c, stdout)
		},
	}
	cmd.Flags().StringVar(&c.URL, "url", "http://127.0.0.1:8080", "the deployment's public URL")
	cmd.Flags().StringVar(&c.Tenant, "tenant", "", "the tenant: its id or one of its verified domains (required)")
	cmd.Flags().StringVar(&c.CAFile, "ca-file", "", "a CA certificate to trust, e.g. gatehouse-data/dev-ca.pem")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

func deviceLogin(ctx context.Context, client *http.Client, c credentials, stdout io.Writer) error {
	base := c.URL + "/" + url.PathEscape(c.Tenant) + "/oauth2/v2.0/"
	var dc struct {
		DeviceCode      string `json:"device_code"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
		ExpiresIn       int64  `json:"expires_in"`
		Interval        int64  `json:"interval"`
		Error           string `json:"error"`
		Description     string `json:"error_description"`
	}
	if err := postForm(ctx, client, base+"devicecode", url.Values{"client_id": {directory.CLIAppID}, "scope": {cliScopes}}, &dc); err != nil {
		return err
	}
	if dc.Error != "" {
		return fmt.Errorf("%s: %s", dc.Error, dc.Description)
	}
	if _, err := fmt.Fprintf(stdout, "To sign in, open %s and enter the code %s\n", dc.VerificationURI, dc.UserCode); err != nil {
		return err
	}
	interval := time.Duration(max(dc.Interval, 1)) * time.Second
	deadline := time.Now().Add(time.Duration(dc.ExpiresIn) * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
		var t tokenReply
		err := postForm(ctx, client, base+"token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"client_id": {directory.CLIAppID}, "device_code": {dc.DeviceCode}}, &t)
		switch {
		case err != nil:
			return err
		case t.Error == "authorization_pending":
			continue
		case t.Error == "slow_down":
			interval += 5 * time.Second
			continue
		case t.Error != "":
			return fmt.Errorf("%s: %s", t.Error, t.ErrorDescription)
		}
		c.Account = idTokenAccount(t.IDToken)
		c.AccessToken, c.RefreshToken = t.AccessToken, t.RefreshToken
		c.ExpiresAt = time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
		if err := c.save(); err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "Signed in as %s.\n", c.Account)
		return err
	}
	return errors.New("the code expired before the sign-in finished; run `gatehouse login` again")
}

// idTokenAccount reads who signed in from an ID token the CLI just received
// over TLS from the token endpoint, for display only.
func idTokenAccount(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "(unknown account)"
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
		Tid               string `json:"tid"`
	}
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return "(unknown account)"
	}
	return claims.PreferredUsername + " (tenant " + claims.Tid + ")"
}

// freshToken returns a usable access token, refreshing (and saving the
// rotated refresh token) when it is about to expire.
func freshToken(ctx context.Context, client *http.Client, c *credentials) (string, error) {
	if time.Until(c.ExpiresAt) > time.Minute {
		return c.AccessToken, nil
	}
	var t tokenReply
	err := postForm(ctx, client, c.URL+"/"+url.PathEscape(c.Tenant)+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
		"client_id": {directory.CLIAppID}, "refresh_token": {c.RefreshToken}, "scope": {cliScopes}}, &t)
	if err != nil {
		return "", err
	}
	if t.Error != "" {
		return "", fmt.Errorf("the sign-in has ended (%s); run `gatehouse login` again", t.Error)
	}
	c.AccessToken, c.RefreshToken = t.AccessToken, t.RefreshToken
	c.ExpiresAt = time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
	return c.AccessToken, c.save()
}

func apiCmd(stdout io.Writer) *cobra.Command {
	var body string
	cmd := &cobra.Command{
		Use:   "api METHOD PATH",
		Short: "Call the management API as the signed-in user, e.g. gatehouse api GET /v1.0/users",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return callAPI(cmd.Context(), strings.ToUpper(args[0]), args[1], body, stdout)
		},
	}
	cmd.Flags().StringVar(&body, "body", "", "a JSON request body")
	return cmd
}

func whoamiCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the signed-in user (GET /v1.0/me)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return callAPI(cmd.Context(), http.MethodGet, "/v1.0/me?$select=id,displayName,userPrincipalName", "", stdout)
		},
	}
}

func logoutCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the signed-in user and revoke their refresh token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadCredentials()
			if err != nil {
				return err
			}
			if client, err := httpClient(c.CAFile); err == nil {
				var ignored map[string]any
				// Revocation answers 200 with no body; its outcome does not change what logout does here.
				_ = postForm(cmd.Context(), client, c.URL+"/"+url.PathEscape(c.Tenant)+"/oauth2/v2.0/revoke",
					url.Values{"client_id": {directory.CLIAppID}, "token": {c.RefreshToken}, "token_type_hint": {"refresh_token"}}, &ignored)
			}
			p, err := credentialsPath()
			if err != nil {
				return err
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, "Signed out.")
			return err
		},
	}
}

func callAPI(ctx context.Context, method, path, body string, stdout io.Writer) error {
	if !strings.HasPrefix(path, "/v1.0/") {
		return errors.New("the path must start with /v1.0/")
	}
	c, err := loadCredentials()
	if err != nil {
		return err
	}
	client, err := httpClient(c.CAFile)
	if err != nil {
		return err
	}
	token, err := freshToken(ctx, client, &c)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != "" {
		if !json.Valid([]byte(body)) {
			return errors.New("--body is not valid JSON")
		}
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = append(pretty.Bytes(), '\n')
	}
	if _, err := stdout.Write(out); err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return nil
}
