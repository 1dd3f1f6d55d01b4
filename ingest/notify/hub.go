package notify

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Source is one landing source read through notifications.
type Source struct {
	// Name is the source's name; Path its folder under the landing root.
	Name, Path string
	// Config is its notifications block (validated).
	Config Config
}

// HubOptions tune a Hub.
type HubOptions struct {
	// Open connects to a queue. Default: Open. Tests wrap it.
	Open func(ctx context.Context, loc Location, cfg Config) (Queue, error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Log receives what the Hub drops (poisoned and foreign messages).
	Log func(string)
}

// Hub receives the notifications of a project's sources and holds each
// message until the files it names are settled (ingested, set aside or
// not wanted). It is safe for concurrent use: a stream receives in the
// background while its batches take and settle files.
type Hub struct {
	loc  Location
	opts HubOptions

	mu      sync.Mutex
	queues  map[string]*hubQueue    // by Config.Queue
	sources map[string]*hubSource   // by name
	msgs    map[string]*heldMessage // by queue + "\x00" + message id
	wake    chan struct{}           // closed and replaced when files arrive
	seq     uint64                  // messages taken so far
	stats   Stats
}

// Stats count what a Hub did.
type Stats struct {
	Received, Deleted, Poisoned, Foreign int
}

type hubQueue struct {
	name    string
	q       Queue
	cfg     Config
	sources []*hubSource
}

type hubSource struct {
	Source
	q            *hubQueue
	keys         map[string]time.Time // notified landing keys not yet settled → first notification
	lastBackfill time.Time            // zero: not yet listed by this process
	listing      time.Time            // when the backfill being run started
	taken        uint64               // seq at the last Take: newer messages are not in its batch
}

// heldMessage is a received message whose files are not all settled.
type heldMessage struct {
	q    *hubQueue
	msg  Message
	seq  uint64                // order of arrival in the hub
	keys map[string]*hubSource // landing key → its source
}

// NewHub returns a Hub for a project whose landing root is landing.
func NewHub(landing string, opts HubOptions) (*Hub, error) {
	loc, err := ParseLanding(landing)
	if err != nil {
		return nil, err
	}
	if opts.Open == nil {
		opts.Open = Open
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = func(string) {}
	}
	return &Hub{loc: loc, opts: opts, queues: map[string]*hubQueue{}, sources: map[string]*hubSource{}, msgs: map[string]*heldMessage{}, wake: make(chan struct{})}, nil
}

// Location is the landing root the Hub maps notifications into.
func (h *Hub) Location() Location { return h.loc }

// Add registers a source (again: no change) and opens its queue. Sources
// may share a queue: a message goes to the source whose folder holds the
// file.
func (h *Hub) Add(ctx context.Context, s Source) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sources[s.Name]; ok {
		return nil
	}
	q := h.queues[s.Config.Queue]
	if q == nil {
		qq, err := h.opts.Open(ctx, h.loc, s.Config)
		if err != nil {
			return fmt.Errorf("notify: source %s: %w", s.Name, err)
		}
		q = &hubQueue{name: s.Config.Queue, q: qq, cfg: s.Config}
		h.queues[s.Config.Queue] = q
	}
	hs := &hubSource{Source: s, q: q, keys: map[string]time.Time{}}
	q.sources = append(q.sources, hs)
	h.sources[s.Name] = hs
	return nil
}

// Has reports whether the source was added.
func (h *Hub) Has(source string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.sources[source]
	return ok
}

// Close closes the queues.
func (h *Hub) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var first error
	for _, q := range h.queues {
		if err := q.q.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Stats returns what the Hub counted so far.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Arrived returns a channel closed when a receive brings a file for some
// source; call it again for the next arrival.
func (h *Hub) Arrived() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wake
}

// Receive takes every message waiting in the sources' queues, waiting up
// to wait for the first one, and returns how many landing files they
// named.
func (h *Hub) Receive(ctx context.Context, wait time.Duration) (int, error) {
	h.mu.Lock()
	queues := make([]*hubQueue, 0, len(h.queues))
	for _, q := range h.queues {
		queues = append(queues, q)
	}
	h.mu.Unlock()
	files := 0
	for i, q := range queues {
		w := time.Duration(0)
		if i == 0 {
			w = wait
		}
		for {
			msgs, err := q.q.Receive(ctx, 32, q.cfg.Visibility, w)
			if err != nil {
				return files, err
			}
			w = 0
			if len(msgs) == 0 {
				break
			}
			n, err := h.take(ctx, q, msgs)
			files += n
			if err != nil {
				return files, err
			}
		}
	}
	return files, nil
}

// take files the messages' keys under their sources; messages with no
// file for any source are deleted at once.
func (h *Hub) take(ctx context.Context, q *hubQueue, msgs []Message) (int, error) {
	h.mu.Lock()
	var drop []Message
	files := 0
	now := h.opts.Now()
	for _, m := range msgs {
		h.stats.Received++
		id := q.name + "\x00" + m.ID
		if held, ok := h.msgs[id]; ok {
			held.msg = m // delivered again: only the newest receipt deletes it
			continue
		}
		evs, err := Parse(h.loc.Kind, m)
		if err != nil {
			h.stats.Poisoned++
			h.opts.Log(fmt.Sprintf("notify: queue %s: message %s (delivery %d) dropped: %v; the backfill listing finds any file it named", q.name, m.ID, m.Deliveries, err))
			drop = append(drop, m)
			continue
		}
		h.seq++
		held := &heldMessage{q: q, msg: m, seq: h.seq, keys: map[string]*hubSource{}}
		for _, ev := range evs {
			key, ok := h.loc.Key(ev.Bucket, ev.Object)
			if !ok {
				continue
			}
			for _, s := range q.sources {
				if strings.HasPrefix(key, s.Path+"/") {
					held.keys[key] = s
					if _, ok := s.keys[key]; !ok {
						s.keys[key] = now
					}
					files++
					break
				}
			}
		}
		if len(held.keys) == 0 {
			h.stats.Foreign++
			drop = append(drop, m)
			continue
		}
		h.msgs[id] = held
	}
	if files > 0 {
		close(h.wake)
		h.wake = make(chan struct{})
	}
	h.mu.Unlock()
	if len(drop) > 0 {
		if err := q.q.Delete(ctx, drop); err != nil {
			return files, err
		}
		h.mu.Lock()
		h.stats.Deleted += len(drop)
		h.mu.Unlock()
	}
	return files, nil
}

// Batch is what a source's next run reads.
type Batch struct {
	// Backfill says the run must list the source's folder (at start and
	// every backfill interval); Keys are then all pending notified keys
	// too, settled with the listing.
	Backfill bool
	// Keys are the landing keys notified and not yet settled, in order.
	Keys []string
}

// Take returns the source's pending notified keys, and whether it is time
// for a backfill listing. Call Receive first to fetch new messages.
func (h *Hub) Take(source string) (Batch, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sources[source]
	if !ok {
		return Batch{}, fmt.Errorf("notify: source %s has no notifications", source)
	}
	now := h.opts.Now()
	var b Batch
	s.taken = h.seq
	iv := s.Config.BackfillInterval
	if s.lastBackfill.IsZero() || (iv > 0 && !now.Before(s.lastBackfill.Add(iv))) {
		b.Backfill = true
		s.listing = now
	}
	for k := range s.keys {
		b.Keys = append(b.Keys, k)
	}
	slices.Sort(b.Keys)
	return b, nil
}

// Backfilled tells the hub that a backfill listing of the source started
// at at (another process's, recorded in the source's table): the next one
// is due a backfill interval after it, not at this process's start.
func (h *Hub) Backfilled(source string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.sources[source]; ok && at.After(s.lastBackfill) {
		s.lastBackfill = at
	}
}

// LastBackfill returns when the source's last settled backfill listing
// started (zero: none).
func (h *Hub) LastBackfill(source string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.sources[source]; ok {
		return s.lastBackfill
	}
	return time.Time{}
}

// Settle is called after the source's run committed (or had nothing to
// commit): done says whether a key is settled — ingested, set aside, or
// not a file the source reads. Messages whose files are all settled are
// deleted; a successful backfill is recorded.
func (h *Hub) Settle(ctx context.Context, source string, backfilled bool, done func(key string) bool) error {
	h.mu.Lock()
	s, ok := h.sources[source]
	if !ok {
		h.mu.Unlock()
		return fmt.Errorf("notify: source %s has no notifications", source)
	}
	if backfilled {
		s.lastBackfill = s.listing
	}
	// Only messages the last Take saw are settled: one that arrived
	// since may be about a newer version of a file the run read before.
	del := map[*hubQueue][]Message{}
	settled := map[string]bool{}
	for id, m := range h.msgs {
		for k, ks := range m.keys {
			if ks != s || m.seq > s.taken {
				continue
			}
			d, ok := settled[k]
			if !ok {
				d = done(k)
				settled[k] = d
			}
			if d {
				delete(m.keys, k)
			}
		}
		if len(m.keys) == 0 {
			del[m.q] = append(del[m.q], m.msg)
			delete(h.msgs, id)
		}
	}
	pending := map[string]time.Time{}
	for _, m := range h.msgs {
		for k, ks := range m.keys {
			if ks == s {
				pending[k] = s.keys[k]
			}
		}
	}
	s.keys = pending
	h.mu.Unlock()
	for q, msgs := range del {
		if err := q.q.Delete(ctx, msgs); err != nil {
			return err
		}
		h.mu.Lock()
		h.stats.Deleted += len(msgs)
		h.mu.Unlock()
	}
	return nil
}

// Wanted reports whether a landing key is a file of a source with this
// folder and file pattern (not hidden: no element starts with "." or "_").
func Wanted(key, folder, pattern string) bool {
	rel, ok := strings.CutPrefix(key, folder+"/")
	if !ok {
		return false
	}
	for _, el := range strings.Split(rel, "/") {
		if strings.HasPrefix(el, ".") || strings.HasPrefix(el, "_") {
			return false
		}
	}
	ok, _ = path.Match(pattern, path.Base(key))
	return ok
}
