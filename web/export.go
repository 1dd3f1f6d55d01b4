package web

import (
	"encoding/json"
	"net/http"
	"time"
)

// SnapshotHandler is Handler for a one-shot static snapshot of the UI
// (`medallion dashboard export`): identical, except that GET /api/events
// answers the "hello" event and ends the stream, asking the browser to
// reconnect only after a day. A headless browser taking a screenshot
// waits for every open request, so a live event stream would never let
// the page settle.
func (s *Server) SnapshotHandler() http.Handler {
	h := s.handler
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/events" {
			h.ServeHTTP(w, r)
			return
		}
		// "snapshot": the page closes its event stream and says so
		// (rather than "reconnecting").
		hello, _ := json.Marshal(map[string]any{"project": s.proj.Config.Name, "time": time.Now().UTC(), "snapshot": true})
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("retry: 86400000\n\n"))
		writeEvent(w, event{name: "hello", data: hello})
	})
}
