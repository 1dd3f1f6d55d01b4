package web

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

// hostPolicy decides which Host headers the server answers: a web page
// elsewhere that rebinds its own name to this machine (DNS rebinding)
// sends its own name, not ours.
type hostPolicy struct {
	allowed map[string]bool
	// any: a non-loopback wildcard bind with no allowed hosts configured
	// (the token guards it).
	any bool
}

func newHostPolicy(addr string, extra []string) hostPolicy {
	p := hostPolicy{allowed: map[string]bool{}}
	host, _, _ := net.SplitHostPort(addr)
	host = normHost(host)
	loop, _ := isLoopback(addr)
	if loop {
		for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
			p.allowed[h] = true
		}
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		p.allowed[host] = true
	} else if !loop && len(extra) == 0 {
		p.any = true
	}
	for _, h := range extra {
		p.allowed[normHost(h)] = true
	}
	return p
}

// normHost lower-cases a host name and strips IPv6 brackets.
func normHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
}

// ok reports whether hostport (a Host header or an Origin's host) names
// this server.
func (p hostPolicy) ok(hostport string) bool {
	if p.any {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = normHost(host)
	if p.allowed[host] {
		return true
	}
	if p.allowed["127.0.0.1"] {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return false
}

// guard refuses what a browser would send on behalf of another site: a
// foreign Host (DNS rebinding) or Origin (cross-site request) gets 403,
// and a POST whose body is not declared application/json gets 415 (a
// page can send text/plain or a form without asking; JSON it cannot).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts.ok(r.Host) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("Host %q is not this server's address: add it to serve.allowed_hosts in medallion.yaml (or --allowed-host) to reach the server by that name", r.Host))
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || u.Host == "" || (!strings.EqualFold(u.Host, r.Host) && !s.extraHost(u.Host)) {
				writeError(w, http.StatusForbidden, fmt.Sprintf("cross-site request from Origin %q refused", o))
				return
			}
		}
		if r.Method == http.MethodPost {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "POST bodies must be sent with Content-Type: application/json")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// extraHost reports whether an Origin's host is one configured in
// serve.allowed_hosts (a proxy in front of the server, say).
func (s *Server) extraHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	for _, h := range s.opts.AllowedHosts {
		if normHost(h) == normHost(host) {
			return true
		}
	}
	return false
}

const tokenCookie = "medallion_token"

// auth enforces the token (when one is set) on everything but /healthz.
// The UI page takes it once as ?token= and gets it back as a strict
// same-site cookie, so that its scripts and styles load; the API wants it
// in "Authorization: Bearer" (or ?token= on /api/events, which
// EventSource cannot give headers).
func (s *Server) auth(next http.Handler) http.Handler {
	if s.opts.Token == "" {
		return next
	}
	want := []byte(s.opts.Token)
	valid := func(got string) bool { return got != "" && subtle.ConstantTimeCompare([]byte(got), want) == 1 }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		got := ""
		if h := r.Header.Get("Authorization"); h != "" {
			if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
				got = strings.TrimSpace(tok)
			}
		} else if r.URL.Path == "/api/events" {
			got = r.URL.Query().Get("token")
		} else if r.Method == http.MethodGet && isUIPath(r.URL.Path) {
			if q := r.URL.Query().Get("token"); q != "" {
				got = q
				if valid(q) {
					http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: q, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
				}
			} else if c, err := r.Cookie(tokenCookie); err == nil {
				got = c.Value
			}
		}
		if !valid(got) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="medallion"`)
			writeError(w, http.StatusUnauthorized, "missing or invalid token: send \"Authorization: Bearer <token>\"")
			return
		}
		next.ServeHTTP(w, r)
	})
}
