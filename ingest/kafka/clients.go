package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Clients is one set of Kafka clients: a Client per source configuration,
// opened on first use and kept open until Close, so that the micro-batches
// of a stream (or the runs of a server) reuse their connections. A process
// keeps one set per project (see pipeline.Project.Close). A Clients is safe
// for concurrent use; the zero value is ready to use. Opening a client does
// not hold up the Gets of other configurations: an unreachable broker
// delays only the sources that read from it.
type Clients struct {
	mu     sync.Mutex
	m      map[string]*opening
	closed bool
}

// opening is a configuration's client, being opened until done is closed.
type opening struct {
	done chan struct{}
	c    *Client
	err  error
}

// key identifies a configuration: two sources reading the same topic of the
// same brokers with the same credentials share a client.
func (cfg Config) key() string {
	s := fmt.Sprintf("%q|%q|%t|%q|%p", cfg.Brokers, cfg.Topic, cfg.TLS, cfg.StartFrom, cfg.rootCAs)
	if cfg.SASL != nil {
		s += fmt.Sprintf("|%q|%q|%q", cfg.SASL.Mechanism, cfg.SASL.Username, cfg.SASL.PasswordEnv)
	}
	return s
}

// Get returns the set's client for cfg, opening it (see Open) on first use.
// Concurrent Gets of one configuration open it once and share the result;
// a Get waiting for another's open returns when ctx is done. It fails after
// Close.
func (s *Clients) Get(ctx context.Context, cfg Config) (*Client, error) {
	k := cfg.key()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		o, ok := s.m[k]
		if !ok {
			o = &opening{done: make(chan struct{})}
			if s.m == nil {
				s.m = map[string]*opening{}
			}
			s.m[k] = o
			s.mu.Unlock()
			return s.open(ctx, k, o, cfg)
		}
		s.mu.Unlock()
		select {
		case <-o.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("kafka: %w", ctx.Err())
		}
		if o.err == nil {
			return o.c, nil
		}
		// The opener gave up on its own context: try again with ours.
		if ctx.Err() == nil && (errors.Is(o.err, context.Canceled) || errors.Is(o.err, context.DeadlineExceeded)) {
			continue
		}
		return nil, o.err
	}
}

// open opens the client of o outside the set's lock and publishes it; a
// failed open is forgotten so that the next Get tries again.
func (s *Clients) open(ctx context.Context, k string, o *opening, cfg Config) (*Client, error) {
	c, err := Open(ctx, cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && s.closed {
		c.Close()
		c, err = nil, ErrClosed
	}
	o.c, o.err = c, err
	if err != nil && s.m[k] == o {
		delete(s.m, k)
	}
	close(o.done)
	return c, err
}

// Len is the number of clients open in the set.
func (s *Clients) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range s.m {
		select {
		case <-o.done:
			if o.c != nil {
				n++
			}
		default:
		}
	}
	return n
}

// Close closes every client of the set (a Fetch in progress returns
// ErrClosed; a client still being opened is closed when it opens); Get
// fails from then on.
func (s *Clients) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for k, o := range s.m {
		select {
		case <-o.done:
			if o.c != nil {
				o.c.Close()
			}
		default:
		}
		delete(s.m, k)
	}
}
