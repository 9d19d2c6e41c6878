// Package mailtest runs mailpit (a Go tool dependency of this module) for
// tests: a real SMTP server on a free loopback port whose messages are read
// back through its HTTP API.
package mailtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Address is a mailbox as mailpit reports it.
type Address struct {
	Name    string
	Address string
}

// Summary is a message in mailpit's list.
type Summary struct {
	ID        string // mailpit's database id (for Message)
	MessageID string // the Message-ID header, without angle brackets
	From      Address
	To, Cc    []Address
	Subject   string
	Created   time.Time
}

// Message is one message in full.
type Message struct {
	Summary
	Text, HTML string
	Headers    map[string][]string
}

// Server is a running mailpit.
type Server struct {
	// SMTPURL is a --smtp-url that reaches it (clear text, loopback).
	SMTPURL string
	// API is the base URL of its HTTP API.
	API  string
	smtp string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// mailpitBinary builds the tool once per test binary. The first build on a
// fresh machine compiles all of mailpit (minutes on two cores); later ones
// come from the build cache.
func mailpitBinary() (string, error) {
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "go", "tool", "-n", "mailpit")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			buildErr = fmt.Errorf("mailtest: go tool -n mailpit: %v: %s", err, stderr.String())
			return
		}
		binary = strings.TrimSpace(string(out))
	})
	return binary, buildErr
}

// freePort finds a loopback port nothing listens on: mailpit takes its
// ports by number only.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Start runs a mailpit with an empty mailbox of its own and stops it when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := mailpitBinary(); err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: t.TempDir(), smtp: freePort(t)}
	s.SMTPURL = "smtp://" + s.smtp + "?starttls=none"
	t.Cleanup(func() { s.Stop(t) })
	s.launch(t, freePort(t))
	return s
}

func (s *Server) launch(t testing.TB, httpAddr string) {
	t.Helper()
	s.API = "http://" + httpAddr
	cmd := exec.Command(binary, "--smtp", s.smtp, "--listen", httpAddr,
		"--database", filepath.Join(s.dir, "mailpit.db"), "--disable-version-check", "--quiet",
		"--smtp-disable-rdns", "--enable-chaos", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	log, err := os.Create(filepath.Join(s.dir, "mailpit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(time.Minute)
	for {
		if s.ready() {
			return
		}
		select {
		case <-done:
			out, _ := os.ReadFile(filepath.Join(s.dir, "mailpit.log"))
			t.Fatalf("mailtest: mailpit exited: %s", out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("mailtest: mailpit not ready after a minute")
		}
	}
}

func (s *Server) ready() bool {
	resp, err := http.Get(s.API + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	c, err := net.DialTimeout("tcp", s.smtp, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Stop stops mailpit: its SMTP port refuses connections (a server that is
// down) until Restart.
func (s *Server) Stop(t testing.TB) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart starts a stopped mailpit again on the same SMTP port, with the
// messages it had.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.launch(t, freePort(t))
}

// Messages lists the messages received, newest first.
func (s *Server) Messages(t testing.TB) []Summary {
	t.Helper()
	var out struct {
		Messages []Summary `json:"messages"`
	}
	s.get(t, "/api/v1/messages?limit=1000", &out)
	return out.Messages
}

// Message reads one message (id from Summary.ID) with its headers.
func (s *Server) Message(t testing.TB, id string) Message {
	t.Helper()
	var m Message
	s.get(t, "/api/v1/message/"+id, &m)
	s.get(t, "/api/v1/message/"+id+"/headers", &m.Headers)
	return m
}

// Await waits up to timeout for at least n messages and returns them all.
func (s *Server) Await(t testing.TB, n int, timeout time.Duration) []Summary {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := s.Messages(t)
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailtest: %d message(s) after %v, want %d", len(ms), timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Chaos makes mailpit's SMTP server answer code (4xx or 5xx) to every
// RCPT TO (the recipient refused) until Chaos(t, 0).
func (s *Server) Chaos(t testing.TB, code int) {
	t.Helper()
	type trigger struct{ ErrorCode, Probability int }
	rcpt := trigger{ErrorCode: 451}
	if code != 0 {
		rcpt = trigger{ErrorCode: code, Probability: 100}
	}
	body, _ := json.Marshal(map[string]trigger{"Recipient": rcpt})
	req, err := http.NewRequest(http.MethodPut, s.API+"/api/v1/chaos", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailtest: PUT chaos: %s", resp.Status)
	}
}

func (s *Server) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailtest: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailtest: GET %s: %v", path, err)
	}
}
