package jsonw

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestAppendStringIsEncodingJSON: every string, escaped or copied, is
// quoted as encoding/json quotes it.
func TestAppendStringIsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "a", "0b7c5e1a-0000-4000-8000-000000000001", "https://login.example/t/v2.0?a=b#c",
		`"`, `\`, "<", ">", "&", "\x00", "\n", "\t", "\x1f", "\x7f", "é", "日本", "\u2028", "\u2029", "\xff", "\xc3", "😀",
		"-._~:/?#[]@!$'()*+,;=% ", "a\"b\\c<d>e&f"} {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	}
}

// TestAppendStringEveryByte: each byte alone, and in the middle of a
// string that is otherwise copied, is quoted as encoding/json quotes it.
func TestAppendStringEveryByte(t *testing.T) {
	for c := range 256 {
		for _, s := range []string{string([]byte{byte(c)}), "abc" + string([]byte{byte(c)}) + "def"} {
			want, _ := json.Marshal(s)
			if got := AppendString(nil, s); !bytes.Equal(got, want) {
				t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

func BenchmarkAppendStringToken(b *testing.B) {
	token := strings.Repeat("eyJhbGciOiJFUzI1NiIsImtpZCI6Ik", 40) + "." + strings.Repeat("A_-z", 20)
	buf := make([]byte, 0, 2*len(token))
	for b.Loop() {
		buf = AppendString(buf[:0], token)
	}
}

// TestObjectIsEncodingJSON: an object written member by member is what
// encoding/json writes for the struct with those tags.
func TestObjectIsEncodingJSON(t *testing.T) {
	type doc struct {
		A string   `json:"a"`
		B string   `json:"b,omitempty"`
		C int64    `json:"c"`
		D int64    `json:"d,omitempty"`
		E bool     `json:"e"`
		F []string `json:"f,omitempty"`
	}
	for _, d := range []doc{{}, {A: "x<", B: "y", C: -3, D: 9, E: true, F: []string{"", "é"}}, {F: []string{}}} {
		o := Object{}
		o.Str("a", d.A)
		o.StrOmit("b", d.B)
		o.Int("c", d.C)
		o.IntOmit("d", d.D)
		o.Bool("e", d.E)
		o.StringsOmit("f", d.F)
		want, _ := json.Marshal(d)
		if got := o.End(); !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	if got := (&Object{}).End(); string(got) != "{}" {
		t.Errorf("empty object: %s", got)
	}
}
