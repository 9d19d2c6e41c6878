package app

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/graph"
	"github.com/gatehouse-id/gatehouse/internal/hostedpage"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

// brandingAssets serves uploaded logos to browsers at hostedpage.LogoPath:
// only the image whose digest the address names, so the answer never
// changes and is cached for a year. Logos are public, as Entra's CDN
// serves them, so no sign-in is asked.
func brandingAssets(dir *directory.Service) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+hostedpage.LogoPathPrefix+"{tenant}/{branding}/{stream}/{file}", func(w http.ResponseWriter, r *http.Request) {
		digest, ext, _ := strings.Cut(r.PathValue("file"), ".")
		logo, err := dir.GetLogo(r.Context(), r.PathValue("tenant"), r.PathValue("branding"), r.PathValue("stream"))
		switch {
		case err == nil && logo.SHA256 == digest && logo.Extension() == ext:
			graph.WriteLogo(w, logo, "public, max-age=31536000, immutable")
		case err == nil || usererr.IsKind(err, usererr.NotFound) || usererr.IsKind(err, usererr.Invalid):
			// Another image, or none, or a name that is none.
			http.NotFound(w, r)
		default:
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		}
	})
	return mux
}
