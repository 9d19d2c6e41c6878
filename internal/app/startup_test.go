package app_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func masterKey() string {
	return base64.StdEncoding.EncodeToString([]byte(rand.Text() + rand.Text())[:32])
}

// TestWrongMasterKeyRefusesToStart: a node whose master key cannot open the
// stored signing keys refuses to start, saying why, instead of reporting
// ready and failing every token request.
func TestWrongMasterKeyRefusesToStart(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for name, storeURL := range stores {
		t.Run(name, func(t *testing.T) {
			key, other := masterKey(), masterKey()
			hs := httptest.NewUnstartedServer(nil)
			cfg := app.Config{Store: storeURL(t), DataDir: t.TempDir(), MasterKey: key, Logger: slog.New(slog.DiscardHandler),
				PublicURL: "http://" + hs.Listener.Addr().String()}
			srv, err := app.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			// A token makes the tenant's first signing key, sealed with key.
			hs.Config.Handler = srv.Handler()
			hs.Start()
			e := &env{t: t, url: cfg.PublicURL, public: cfg.PublicURL, app: srv}
			e.tenant("Contoso", "contoso.example")
			hs.Close()
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}

			cfg.MasterKey = other
			srv, err = app.New(t.Context(), cfg)
			if err == nil {
				srv.Close()
				t.Fatal("a node with another master key started")
			}
			if msg := err.Error(); !strings.Contains(msg, "master key cannot open the signing keys of 1 tenant") || strings.Contains(msg, other) || strings.Contains(msg, key) {
				t.Errorf("refusal says %q", msg)
			}
			cfg.MasterKey = key
			srv, err = app.New(t.Context(), cfg)
			if err != nil {
				t.Fatalf("with the right master key: %v", err)
			}
			srv.Close()
		})
	}
}

// TestSecondNodeOnOneSQLiteFileRefusesToStart: SQLite is one node's store;
// a second server on the same file stops with a clear message, and starts
// once the first has gone.
func TestSecondNodeOnOneSQLiteFileRefusesToStart(t *testing.T) {
	cfg := app.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	first, err := app.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := app.New(t.Context(), cfg)
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second node started on the same SQLite file")
	}
	if !errors.Is(err, sqlite.ErrInUse) || !strings.Contains(err.Error(), "another gatehouse process is using the database "+filepath.Join(cfg.DataDir, "gatehouse.db")) {
		t.Errorf("refusal: %v", err)
	}
	// The first node is unharmed.
	if _, err := first.Directory().CreateTenant(t.Context(), directory.NewTenant{DisplayName: "Contoso", Domain: "contoso.example"}); err != nil {
		t.Fatalf("first node after the refusal: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err = app.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("after the first node stopped: %v", err)
	}
	second.Close()
}

// TestHousekeepingRotatesIdleTenantsKeys: a tenant nobody requests tokens
// from still gets its signing key's successor on time, from housekeeping.
func TestHousekeepingRotatesIdleTenantsKeys(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			var ahead atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
			st := open(t)
			e := newNode(t, st, app.Config{Now: now})
			a := e.tenant("Contoso", "contoso.example") // its token made the first key
			keys := func() int {
				var n int
				err := st.View(t.Context(), func(tx store.Tx) error {
					ks, err := tx.ListSigningKeys(t.Context(), a.id)
					n = len(ks)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if _, err := e.app.Housekeep(t.Context()); err != nil || keys() != 1 {
				t.Fatalf("housekeeping a fresh key: %v, %d keys, want 1", err, keys())
			}
			// 29 days on, a successor is due a day before it signs.
			ahead.Store(int64(29*24*time.Hour + time.Minute))
			if _, err := e.app.Housekeep(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := keys(); n != 2 {
				t.Fatalf("after housekeeping at day 29: %d keys, want the successor too", n)
			}
		})
	}
}
