package pagewalk

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const usernamePage = `<form method="post" action="/t/login"><input type="hidden" name="csrf" value="c"><input name="username"></form>`

func TestSignInFollowsFormsUntilSentAway(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet:
			_, _ = w.Write([]byte(usernamePage))
		case r.FormValue("csrf") == "c" && r.FormValue("username") == "alice":
			http.Redirect(w, r, "https://app.example/cb?code=x", http.StatusFound)
		default:
			http.Error(w, "bad form", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	back, err := New(nil).SignIn(srv.URL+"/t/login", map[string]string{"username": "alice"})
	if err != nil || back.String() != "https://app.example/cb?code=x" {
		t.Fatalf("got %v, %v", back, err)
	}
}

func TestSignInReportsAFailedSubmit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(usernamePage))
			return
		}
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // the server goes away mid-sign-in
	}))
	defer srv.Close()
	_, err := New(nil).SignIn(srv.URL+"/t/login", map[string]string{"username": "alice"})
	if err == nil || strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("a failed POST must surface as its error, got %v", err)
	}
}

func TestSignInEndsOnAPageWithoutForm(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<p>You can close this window.</p>"))
	}))
	defer srv.Close()
	_, err := New(nil).SignIn(srv.URL, nil)
	var final *Final
	if !errors.As(err, &final) || final.Status != 200 || !strings.Contains(final.Body, "close this window") {
		t.Fatalf("got %v", err)
	}
}

func TestSignInEndsOnARefusedAnswer(t *testing.T) {
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts++
		}
		_, _ = w.Write([]byte(usernamePage)) // asks for the username again and again
	}))
	defer srv.Close()
	_, err := New(nil).SignIn(srv.URL+"/t/login", map[string]string{"username": "alice"})
	var final *Final
	if !errors.As(err, &final) || final.Status != 200 || posts != 1 {
		t.Fatalf("after %d posts: %v", posts, err)
	}
}
