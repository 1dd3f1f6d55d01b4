package kafka

import (
	"context"
	"fmt"
	"sync"
)

// Clients is one set of Kafka clients: a Client per source configuration,
// opened on first use and kept open until Close, so that the micro-batches
// of a stream (or the runs of a server) reuse their connections. A process
// keeps one set per project (see pipeline.Project.Close). A Clients is safe
// for concurrent use; the zero value is ready to use.
type Clients struct {
	mu     sync.Mutex
	m      map[string]*Client
	closed bool
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
// It fails after Close.
func (s *Clients) Get(ctx context.Context, cfg Config) (*Client, error) {
	k := cfg.key()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if c, ok := s.m[k]; ok {
		return c, nil
	}
	c, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if s.m == nil {
		s.m = map[string]*Client{}
	}
	s.m[k] = c
	return c, nil
}

// Len is the number of clients open in the set.
func (s *Clients) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Close closes every client of the set (a Fetch in progress returns
// ErrClosed); Get fails from then on.
func (s *Clients) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for k, c := range s.m {
		c.Close()
		delete(s.m, k)
	}
}
