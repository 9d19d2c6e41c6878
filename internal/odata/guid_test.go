package odata

import (
	"regexp"
	"testing"
)

// guidOracle is the definition IsGUID implements by hand.
var guidOracle = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func TestIsGUID(t *testing.T) {
	for _, s := range []string{
		"6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10", "6C1F8D2A-3B7E-4F0A-9D55-7A1E2C9B4F10", "00000000-0000-0000-0000-000000000000",
		"", "6c1f8d2a3b7e4f0a9d557a1e2c9b4f10", "6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f1", "6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f100",
		"6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f1g", "6c1f8d2a_3b7e-4f0a-9d55-7a1e2c9b4f10", "6c1f8d2a-3b7e-4f0a-9d557-a1e2c9b4f10",
		"{6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f1}", "6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f1\n", "contoso.onmicrosoft.com",
		"6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f1é"[:36],
	} {
		if got, want := IsGUID(s), guidOracle.MatchString(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzIsGUID(f *testing.F) {
	f.Add("6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f10")
	f.Add("6c1f8d2a-3b7e-4f0a-9d55-7a1e2c9b4f1-")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsGUID(s), guidOracle.MatchString(s); got != want {
			t.Fatalf("IsGUID(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
