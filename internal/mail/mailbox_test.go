package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func testKeys(t *testing.T) *secrets.Keyring {
	t.Helper()
	k, err := secrets.FromBase64(base64.StdEncoding.EncodeToString([]byte(randomKey())))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return string(b)
}

func newMailbox(t *testing.T, st store.Store, now func() time.Time) *Mailbox {
	t.Helper()
	for _, id := range []string{"t1", "t2"} {
		err := st.Update(t.Context(), func(tx store.Tx) error {
			return tx.CreateTenant(t.Context(), store.Tenant{ID: id, DisplayName: id, CreatedAt: now()})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return NewMailbox(st, testKeys(t), now, Address{Name: "Gatehouse", Address: "no-reply@gatehouse.localhost"})
}

func TestMailbox(t *testing.T) {
	for name, open := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			now := time.Now().UTC().Truncate(time.Second)
			clock := func() time.Time { return now }
			b := newMailbox(t, st, clock)
			ctx := t.Context()
			m := invitation()
			m.From = Address{}
			// Delivered twice (a worker died before recording the first
			// delivery): kept once.
			for range 2 {
				if err := b.Send(ctx, "t1", m); err != nil {
					t.Fatal(err)
				}
			}
			other := invitation()
			other.MessageID, other.Subject = "<other@contoso.example>", "Another"
			now = now.Add(time.Minute)
			if err := b.Send(ctx, "t2", other); err != nil {
				t.Fatal(err)
			}
			list, err := b.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[0].Message.Subject != "Another" || list[0].TenantID != "t2" || list[1].TenantID != "t1" {
				t.Fatalf("list = %+v", list)
			}
			got, err := b.Get(ctx, list[1].ID)
			if err != nil {
				t.Fatal(err)
			}
			want := m
			want.From = Address{Name: "Gatehouse", Address: "no-reply@gatehouse.localhost"}
			if got.Message.Subject != want.Subject || got.Message.From != want.From || got.Message.HTML != want.HTML {
				t.Errorf("Get = %+v, want %+v", got.Message, want)
			}
			// Another tenant's id with this message's digest finds nothing.
			digest := list[1].ID[strings.LastIndexByte(list[1].ID, '.')+1:]
			for _, id := range []string{"t2." + digest, digest, "", "t1.", "t1.nope"} {
				if _, err := b.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Get(%q): %v, want not found", id, err)
				}
			}
			// At rest the message is sealed.
			var states []store.State
			_ = st.View(ctx, func(tx store.Tx) error {
				states, err = tx.ListStates(ctx, "t1", store.StateFilter{Kind: StateMailbox})
				return err
			})
			if len(states) != 1 || bytes.Contains(states[0].Data, []byte("redeem")) || bytes.Contains(states[0].Data, []byte("fabrikam")) {
				t.Errorf("stored in clear: %s", states)
			}
			if !states[0].ExpiresAt.Equal(states[0].CreatedAt.Add(MailboxLifetime)) {
				t.Errorf("kept until %v, want %v after %v", states[0].ExpiresAt, MailboxLifetime, states[0].CreatedAt)
			}
		})
	}
}

func TestMailboxPage(t *testing.T) {
	st := storetest.SQLite(t, "")
	now := time.Now()
	b := newMailbox(t, st, func() time.Time { return now })
	m := invitation()
	m.HTML = `<p onclick="x()">hi</p><script>alert(1)</script>`
	m.Subject = `<img src=x onerror=alert(1)>`
	if err := b.Send(t.Context(), "t1", m); err != nil {
		t.Fatal(err)
	}
	list, err := b.List(t.Context())
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	mux := http.NewServeMux()
	b.Register(mux)
	get := func(path, remote string, header http.Header) (int, string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = remote
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Result().Body)
		return w.Code, string(body)
	}
	msgPath := "/_dev/mailbox/" + list[0].ID
	// Negative first: not from this machine → no mailbox at all.
	for _, tc := range []struct {
		remote string
		header http.Header
	}{
		{remote: "192.0.2.7:5555"},
		{remote: "[2001:db8::1]:5555"},
		{remote: "192.0.2.7:5555", header: http.Header{"X-Forwarded-For": {"127.0.0.1"}}},
		{remote: "127.0.0.1:5555", header: http.Header{"X-Forwarded-For": {"192.0.2.7"}}},
		{remote: "127.0.0.1:5555", header: http.Header{"Forwarded": {"for=192.0.2.7"}}},
		{remote: "garbage"},
	} {
		for _, path := range []string{"/_dev/mailbox", msgPath} {
			if code, body := get(path, tc.remote, tc.header); code != http.StatusNotFound || strings.Contains(body, "Du har") {
				t.Errorf("GET %s from %s %v = %d", path, tc.remote, tc.header, code)
			}
		}
	}
	code, body := get("/_dev/mailbox", "127.0.0.1:5555", nil)
	if code != http.StatusOK || !strings.Contains(body, `href="/_dev/mailbox/`+list[0].ID+`"`) || strings.Contains(body, "<img") {
		t.Errorf("list: %d %s", code, body)
	}
	code, body = get(msgPath, "[::1]:5555", nil)
	if code != http.StatusOK || !strings.Contains(body, `<iframe sandbox title="HTML part" srcdoc="&lt;p onclick=`) || strings.Contains(body, "<script") || strings.Contains(body, "<img") ||
		!strings.Contains(body, "&lt;script&gt;") || !strings.Contains(body, m.Text) {
		t.Errorf("message: %d %s", code, body)
	}
	if code, _ := get("/_dev/mailbox/t1.nope", "127.0.0.1:1", nil); code != http.StatusNotFound {
		t.Errorf("unknown message: %d", code)
	}
}
