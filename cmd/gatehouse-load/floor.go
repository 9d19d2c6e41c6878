package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/es256"
)

// Credentials of the floor server's one client, which the comparison
// script passes to the load as it does Dex's and oidc-provider's.
const (
	floorClientID     = "load-client"
	floorClientSecret = "load-client-secret-0123456789"
)

// serveFloor serves, at addr, the least a client_credentials token endpoint
// can do with Go's HTTP server and signatures: read the form, compare the
// client's secret, sign a JWT with a key held in memory (alg RS256 or
// ES256), write the JSON answer. No storage, no log, no policy. Its rate
// on a core is the ceiling of any Go token server on that core, Dex and
// Gatehouse alike: what the comparison is measured against.
func serveFloor(addr, alg string) error {
	var key crypto.Signer
	var es *es256.Key // ES256 signs as Gatehouse does, so that the floor stays a floor
	var err error
	switch alg {
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err == nil {
			key = k
			es, err = es256.NewKey(k)
		}
	default:
		return fmt.Errorf("-floor-alg %q: RS256 or ES256", alg)
	}
	if err != nil {
		return err
	}
	header, _ := json.Marshal(map[string]string{"alg": alg, "kid": "floor", "typ": "JWT"})
	enc := base64.RawURLEncoding
	prefix := enc.EncodeToString(header) + "."
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		if r.PostFormValue("grant_type") != "client_credentials" || id != floorClientID ||
			subtle.ConstantTimeCompare([]byte(secret), []byte(floorClientSecret)) != 1 {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		now := time.Now()
		payload, _ := json.Marshal(map[string]any{"iss": "http://" + addr, "sub": id, "aud": "api", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		signing := prefix + enc.EncodeToString(payload)
		digest := sha256.Sum256([]byte(signing))
		var sig []byte
		var err error // the handler's own: requests run concurrently
		if es != nil {
			if sig, err = es.Sign(nil, &digest); err != nil {
				http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
				return
			}
		} else if sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": signing + "." + enc.EncodeToString(sig), "token_type": "Bearer", "expires_in": 3600})
	})
	mux.HandleFunc("GET /ready", func(http.ResponseWriter, *http.Request) {})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}
