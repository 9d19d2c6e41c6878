package mail

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/caller"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Register serves the mailbox at GET /_dev/mailbox (the list) and
// GET /_dev/mailbox/{id} (one message).
func (b *Mailbox) Register(mux *http.ServeMux) {
	mux.Handle("GET /_dev/mailbox", localOnly(http.HandlerFunc(b.serveList)))
	mux.Handle("GET /_dev/mailbox/{id}", localOnly(http.HandlerFunc(b.serveMessage)))
}

// localOnly serves the mailbox to requests from this machine only
// (caller.LocalOnly).
func localOnly(next http.Handler) http.Handler {
	return caller.LocalOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The messages' HTML is shown in a sandboxed frame that inherits
		// this policy: no scripts, no requests anywhere.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	}))
}

func (b *Mailbox) serveList(w http.ResponseWriter, r *http.Request) {
	msgs, err := b.List(r.Context())
	if err != nil {
		http.Error(w, "mailbox unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	render(w, listPage, msgs)
}

func (b *Mailbox) serveMessage(w http.ResponseWriter, r *http.Request) {
	m, err := b.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "mailbox unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	render(w, messagePage, m)
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

const pageStyle = `<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}pre{white-space:pre-wrap}
iframe{width:100%;height:60vh;border:1px solid #ccc}</style>`

var funcs = template.FuncMap{
	"addrs": func(as []Address) string {
		s := ""
		for i, a := range as {
			if i > 0 {
				s += ", "
			}
			s += a.String()
		}
		return s
	},
}

var listPage = template.Must(template.New("list").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Developer mailbox</title>` + pageStyle + `</head><body>
<h1>Developer mailbox</h1>
<p>No SMTP server is configured (--smtp-url), so email is kept here, for this machine only, for 7 days.</p>
{{if .}}<table><tr><th>Received</th><th>Tenant</th><th>To</th><th>Subject</th></tr>
{{range .}}<tr><td>{{.At.UTC.Format "2006-01-02 15:04:05"}}</td><td>{{.TenantID}}</td><td>{{addrs .Message.To}}</td>
<td><a href="/_dev/mailbox/{{.ID}}">{{or .Message.Subject "(no subject)"}}</a></td></tr>
{{end}}</table>{{else}}<p>No messages.</p>{{end}}
</body></html>`))

var messagePage = template.Must(template.New("message").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Message.Subject}}</title>` + pageStyle + `</head><body>
<p><a href="/_dev/mailbox">All messages</a></p>
<h1>{{.Message.Subject}}</h1>
<table>
<tr><th>From</th><td>{{.Message.From.String}}</td></tr>
<tr><th>To</th><td>{{addrs .Message.To}}</td></tr>
{{with .Message.Cc}}<tr><th>Cc</th><td>{{addrs .}}</td></tr>{{end}}
<tr><th>Date</th><td>{{.At.UTC.Format "2006-01-02 15:04:05 UTC"}}</td></tr>
<tr><th>Message-ID</th><td>{{.Message.MessageID}}</td></tr>
{{with .Message.Language}}<tr><th>Language</th><td>{{.}}</td></tr>{{end}}
</table>
{{with .Message.HTML}}<h2>HTML</h2><iframe sandbox title="HTML part" srcdoc="{{.}}"></iframe>{{end}}
<h2>Text</h2><pre>{{.Message.Text}}</pre>
</body></html>`))

// String is the address as a header shows it.
func (a Address) String() string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}
