package web

import (
	"embed"
	"io/fs"
	"net/http"
)

// The single-page UI: ui/index.html and ui/assets/ (vanilla JS modules, CSS
// and the vendored ECharts build; no build step). web/ui/package.json pins
// ECharts and the browser test's playwright-core; scripts/ui-assets.sh
// refreshes assets/vendor/ from it.
//
//go:embed ui/index.html ui/assets
var uiFiles embed.FS

func uiFS() fs.FS {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // fixed at build time
	}
	return sub
}

// index serves the UI's page at /.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(uiFS(), "index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'")
	w.Write(b)
}

// assets serves /assets/*.
func (s *Server) assets() http.Handler {
	fsrv := http.FileServerFS(uiFS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

// isUIPath reports whether path is a static UI file (served without the
// token: the UI holds no data and reads the token from its own URL).
func isUIPath(path string) bool {
	return path == "/" || path == "/index.html" || len(path) > len("/assets/") && path[:len("/assets/")] == "/assets/"
}
