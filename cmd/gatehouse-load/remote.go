package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// remote is the load of a token endpoint served by a process started
// separately (Gatehouse, Dex, oidc-provider), so that each server can be
// pinned to a core of its own and the load generator kept off it:
// scripts/compare-token-servers runs them side by side that way.
type remote struct {
	// tokenURL, clientID, clientSecret and scope describe one confidential
	// client of any OAuth server; basic sends the client's credentials in
	// the Authorization header instead of the form.
	tokenURL, clientID, clientSecret, scope string
	basic                                   bool
	// gatehouseTenant is the file `gatehouse tenant create --json` wrote,
	// and gatehouseURL the node serving that tenant: the load then runs
	// with the tenant's automation client (RS256) and with an ES256 client
	// it registers through Graph.
	gatehouseTenant, gatehouseURL string
	label                         string
	// serverPID, when set, is the measured server's process: each row then
	// also gives the CPU time it spent per token, which unlike tokens/s
	// does not depend on how much CPU the load generator itself got.
	serverPID int
}

func (r remote) wanted() bool { return r.tokenURL != "" || r.gatehouseTenant != "" }

type remoteClient struct {
	label    string
	tokenURL string
	form     url.Values
	user     string // for basic authentication
	password string
}

func (r remote) run(workers int, duration time.Duration) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}, Timeout: 30 * time.Second}
	var clients []remoteClient
	if r.gatehouseTenant != "" {
		var err error
		if clients, err = gatehouseClients(client, r.gatehouseTenant, r.gatehouseURL, r.label); err != nil {
			return err
		}
	} else {
		form := url.Values{"grant_type": {"client_credentials"}}
		if r.scope != "" {
			form.Set("scope", r.scope)
		}
		c := remoteClient{label: r.label, tokenURL: r.tokenURL, form: form}
		if r.basic {
			c.user, c.password = r.clientID, r.clientSecret
		} else {
			form.Set("client_id", r.clientID)
			form.Set("client_secret", r.clientSecret)
		}
		clients = append(clients, c)
	}
	fmt.Printf("| server | workers | requests | errors | tokens/s | p50 | p99 | server CPU/token |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range clients {
		if _, err := c.token(client); err != nil {
			return fmt.Errorf("%s: %w", c.label, err)
		}
		before, err := r.serverCPU()
		if err != nil {
			return err
		}
		res := measure(func(int, *string) error { _, err := c.token(client); return err }, workers, duration)
		after, err := r.serverCPU()
		if err != nil {
			return err
		}
		perToken := "-"
		if r.serverPID != 0 && res.n > 0 {
			perToken = fmt.Sprintf("%.0fµs", float64((after-before).Microseconds())/float64(res.n))
		}
		fmt.Printf("| %s | %d | %d | %d | %.0f | %s | %s | %s |\n", c.label, workers, res.n, res.errs, float64(res.n)/duration.Seconds(), res.pct(50), res.pct(99), perToken)
		if res.firstErr != nil {
			fmt.Fprintf(os.Stderr, "%s: first error: %v\n", c.label, res.firstErr)
		}
	}
	return nil
}

// serverCPU is the CPU time, user and system, the server has used so far;
// zero when no server process was named.
func (r remote) serverCPU() (time.Duration, error) {
	if r.serverPID == 0 {
		return 0, nil
	}
	return processCPU(r.serverPID)
}

func (c remoteClient) token(hc *http.Client) (string, error) {
	return requestToken(hc, c.tokenURL, c.form, c.user, c.password)
}

// gatehouseClients reads the tenant `gatehouse tenant create --json`
// created and registers an ES256 client in it through Graph, as an admin
// script would.
func gatehouseClients(hc *http.Client, file, base, label string) ([]remoteClient, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var t struct {
		TenantID   string `json:"tenantId"`
		Automation struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
		} `json:"automation"`
	}
	if err := json.Unmarshal(raw, &t); err != nil || t.TenantID == "" || t.Automation.ClientID == "" {
		return nil, fmt.Errorf("%s is not the output of gatehouse tenant create --json: %v", file, err)
	}
	base = strings.TrimSuffix(base, "/")
	tokenURL := base + "/" + t.TenantID + "/oauth2/v2.0/token"
	form := func(id, secret string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {base + "/.default"}}
	}
	rs := remoteClient{label: label + " RS256", tokenURL: tokenURL, form: form(t.Automation.ClientID, t.Automation.ClientSecret)}
	token, err := rs.token(hc)
	if err != nil {
		return nil, err
	}
	graph := func(path string, body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, base+"/v1.0/"+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, err
		}
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("POST %s: %d %v", path, resp.StatusCode, out["error"])
		}
		return out, nil
	}
	app, err := graph("applications", map[string]any{"displayName": "ES256 load client", "tags": []string{"gatehouse:signingAlg=ES256"}})
	if err != nil {
		return nil, err
	}
	appID, _ := app["appId"].(string)
	objectID, _ := app["id"].(string)
	if _, err := graph("servicePrincipals", map[string]any{"appId": appID}); err != nil {
		return nil, err
	}
	cred, err := graph("applications/"+objectID+"/addPassword", map[string]any{})
	if err != nil {
		return nil, err
	}
	secret, _ := cred["secretText"].(string)
	return []remoteClient{rs, {label: label + " ES256", tokenURL: tokenURL, form: form(appID, secret)}}, nil
}
