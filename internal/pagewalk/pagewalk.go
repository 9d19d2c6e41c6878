// Package pagewalk signs a user in through Gatehouse's hosted pages the way a
// browser without JavaScript does: it keeps cookies, follows redirects within
// the node, fills in the forms it recognises, and stops as soon as it is sent
// anywhere else (the application's redirect URI). End-to-end tests and the
// load tool use it; the server does not.
package pagewalk

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Browser is one user agent with its own cookies.
type Browser struct {
	Client *http.Client
	// Steps are the pages answered by the last SignIn, named by the field
	// filled in: username, password, stay, decision.
	Steps []string
}

// New returns a browser with an empty cookie jar. Transport may be nil.
func New(transport http.RoundTripper) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{Client: &http.Client{Jar: jar, Transport: transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenIn   = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// fields are the inputs the walker can answer, in the order they are looked
// for; a step takes a group, named by its first (the password change of a
// first sign-in takes three).
var fields = [][]string{{"code"}, {"username"}, {"password"}, {"current", "new", "confirm"}, {"stay"}, {"decision"}}

// Final is how a walk ends on a page it cannot move on from: one with
// nothing to fill in and no redirect, such as the device sign-in's "you can
// close this window"; an error page; or a page asking again for an answer
// it refused (a wrong password, a lockout).
type Final struct {
	Status int
	Body   string
}

func (f *Final) Error() string {
	return fmt.Sprintf("pagewalk: ended on a page it cannot answer (%d): %.300s", f.Status, f.Body)
}

// maxSteps bounds a walk; a real sign-in takes at most six pages.
const maxSteps = 12

// SignIn opens authURL and answers each page from answers (keyed by field
// name) until the node redirects elsewhere; it returns that redirect. A walk
// that ends on a page without a form returns a *Final error.
func (b *Browser) SignIn(authURL string, answers map[string]string) (*url.URL, error) {
	b.Steps = nil
	resp, err := b.Client.Get(authURL)
	for range maxSteps {
		if err != nil {
			return nil, err
		}
		// A name of its own: err belongs to the loop, set by each submit.
		body, readErr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if readErr != nil {
			return nil, readErr
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			return resp.Request.URL.Parse(loc)
		}
		page := string(body)
		action := formAction.FindStringSubmatch(page)
		if action == nil || resp.StatusCode != http.StatusOK {
			return nil, &Final{Status: resp.StatusCode, Body: page}
		}
		form := url.Values{}
		for _, m := range hiddenIn.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		step := ""
		for _, group := range fields {
			if strings.Contains(page, `name="`+group[0]+`"`) {
				for _, f := range group {
					form.Set(f, answers[f])
				}
				step = group[0]
				break
			}
		}
		if step == "" {
			return nil, fmt.Errorf("pagewalk: a page with no field to answer: %.500s", page)
		}
		if slices.Contains(b.Steps, step) {
			// Answering again would send the answer the node just refused.
			return nil, &Final{Status: resp.StatusCode, Body: page}
		}
		b.Steps = append(b.Steps, step)
		resp, err = b.submit(resp.Request.URL, html.UnescapeString(action[1]), form)
	}
	return nil, errors.New("pagewalk: sign-in did not finish; steps " + strings.Join(b.Steps, ","))
}

// submit posts a form to its action, resolved against the page's URL, as a
// same-origin browser would.
func (b *Browser) submit(page *url.URL, action string, form url.Values) (*http.Response, error) {
	next, err := page.Parse(action)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, next.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", next.Scheme+"://"+next.Host)
	return b.Client.Do(req)
}
