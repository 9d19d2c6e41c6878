package passpolicy

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	b := NewBlocklist()
	if _, err := b.Load(strings.NewReader("# a breach corpus\n\ncorrecthorse\nHunter2hunter2\n")); err != nil {
		t.Fatal(err)
	}
	ctx := []string{"alice.smith@contoso.example", "Alice Smith", "Contoso Ltd"}
	cases := []struct {
		pw   string
		want Reason // "" accepted
	}{
		{"short", TooShort},
		{strings.Repeat("x", 257), TooLong},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", NotText},
		{"password", Common},
		{"PASSWORD", Common},
		{"password2024!", Common},
		{"correcthorse", Common},
		{"hunter2hunter2", Common},
		{"aaaaaaaa", Repetitive},
		{"abcabcabc", Repetitive},
		{"23456789", Repetitive},
		{"zyxwvuts", Repetitive},
		{"Contoso2024!", FromContext},
		{"alicesmith!", FromContext},
		{"smith.alice99", FromContext},
		{"gatehouse2026", FromContext},
		{"correct horse battery staple", ""},
		{"Contoso makes anvils in Malmö", ""},
		{"längre lösenord på svenska", ""},
		{strings.Repeat("ab", 20) + "c", ""},
		{"8 chars!", ""},
	}
	for _, c := range cases {
		err := b.Check(c.pw, ctx...)
		var got Reason
		if re, ok := err.(*RefusedError); ok {
			got = re.Reason
		} else if err != nil {
			t.Fatalf("%q: unexpected error %v", c.pw, err)
		}
		if got != c.want {
			t.Errorf("%.30q: %q, want %q", c.pw, got, c.want)
		}
	}
}
