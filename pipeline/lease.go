package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/medallionhq/medallion/storage"
)

// LeaseExpiryEnv names the environment variable that sets the writer lease's
// expiry (a Go duration such as 30s or 2m).
const LeaseExpiryEnv = "MEDALLION_LEASE_EXPIRY"

// DefaultLeaseExpiry is how long a writer lease lasts without renewal.
const DefaultLeaseExpiry = 30 * time.Second

// leaseDir is where the lease's objects live, relative to the lake root.
const leaseDir = "_medallion/lease/"

// ErrLeaseLost is the cause of a lease context's cancellation when another
// process took the lease over (the holder could not renew it in time).
var ErrLeaseLost = errors.New("pipeline: writer lease lost")

// LeaseOptions tune AcquireLease.
type LeaseOptions struct {
	// Holder says what holds the lease ("run 20260101T000000Z-ab12",
	// "vacuum silver.orders"); it is shown to the processes that wait.
	Holder string
	// Expiry is how long the lease lasts without renewal. Default: the
	// MEDALLION_LEASE_EXPIRY environment variable, else DefaultLeaseExpiry.
	Expiry time.Duration
	// Log receives the waiting and take-over messages. Default: stderr.
	Log func(string)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// leaseRecord is the content of a generation's .json and .hb objects.
type leaseRecord struct {
	ID       string    `json:"id"`
	Holder   string    `json:"holder"`
	PID      int       `json:"pid"`
	Host     string    `json:"host"`
	Acquired time.Time `json:"acquired"`
	Expires  time.Time `json:"expires"`
	Renewals int64     `json:"renewals"`
}

func (r leaseRecord) String() string {
	return fmt.Sprintf("%s (pid %d on %s, lease %s)", r.Holder, r.PID, r.Host, r.ID)
}

// Lease is a held writer lease of a project's lake.
//
// Every process that writes a project's lake — `medallion run`, each
// micro-batch of `stream` and `serve` (with the compaction that follows it),
// `optimize`, `vacuum` and `repair` — holds the project's writer lease while
// it writes, so writers take turns instead of racing: a run plans on the
// state the previous writer left, and vacuum never runs while a writer has
// written files it has not committed yet.
//
// The lease lives in the lake itself, under _medallion/lease/, and uses only
// the storage operations every driver provides atomically (create-if-absent,
// read, write, list, delete), so it holds on local disk and on object
// stores alike. Each acquisition creates the next generation,
// <gen>.json, with create-if-absent: of several processes trying, exactly one
// wins. The holder renews it by rewriting <gen>.hb (only the holder ever
// writes it) every third of the expiry; releasing creates <gen>.released.
// Waiting processes queue (queue/<id>.json, with when they started waiting
// and an expiry they renew): a free lease goes to the oldest live waiter, so
// a stream that releases and re-takes the lease between batches does not
// starve a run. A
// generation that is released, or whose last renewal has expired, may be
// superseded by the next one. A holder that finds a newer generation, or
// that could not renew before its expiry, has lost the lease: the context
// of its work is cancelled, and the Delta commit rules (a commit whose input
// changed under it conflicts) are the second line of defence.
//
// A killed holder blocks the others for at most the expiry
// (MEDALLION_LEASE_EXPIRY, default 30s). Expiry is judged by the waiter's
// clock against the holder's: the clocks of the machines writing one lake
// must agree to well within the expiry.
//
// Work done under a Lease should use its Context, which is cancelled when
// the lease is lost or released.
type Lease struct {
	store  *storage.Store
	gen    int64
	rec    leaseRecord
	expiry time.Duration
	log    func(string)
	now    func() time.Time

	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// LeaseExpiry is the expiry from the environment (MEDALLION_LEASE_EXPIRY) or
// the default.
func LeaseExpiry() (time.Duration, error) {
	v := strings.TrimSpace(os.Getenv(LeaseExpiryEnv))
	if v == "" {
		return DefaultLeaseExpiry, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("pipeline: %s=%q: want a positive duration such as 30s or 2m", LeaseExpiryEnv, v)
	}
	return d, nil
}

// AcquireLease takes the writer lease of the lake, waiting (and saying so
// through opts.Log, naming the holder) while another process holds it. It
// returns when the lease is held or ctx ends.
func AcquireLease(ctx context.Context, lake *Lake, opts LeaseOptions) (*Lease, error) {
	if opts.Expiry <= 0 {
		d, err := LeaseExpiry()
		if err != nil {
			return nil, err
		}
		opts.Expiry = d
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = func(s string) { fmt.Fprintln(os.Stderr, s) }
	}
	host, _ := os.Hostname()
	l := &Lease{store: lake.Store(), expiry: opts.Expiry, log: opts.Log, now: opts.Now,
		rec: leaseRecord{ID: uuid.NewString(), Holder: opts.Holder, PID: os.Getpid(), Host: host}}
	poll := min(max(opts.Expiry/10, 20*time.Millisecond), 250*time.Millisecond)
	var waitedFor string
	q := &leaseQueue{l: l}
	defer q.leave(ctx)
	for {
		st, err := l.state(ctx)
		if err != nil {
			return nil, err
		}
		free := st.top == 0 || st.released[st.top]
		if free {
			// Writers take turns in the order they asked: a stream that
			// releases the lease between batches must not starve a run.
			ahead, err := q.ahead(ctx, st)
			if err != nil {
				return nil, err
			}
			if ahead != nil {
				free = false
				if err := q.join(ctx); err != nil {
					return nil, err
				}
				if ahead.ID != waitedFor {
					waitedFor = ahead.ID
					l.log(fmt.Sprintf("medallion: waiting for the writer lease: %s asked for it first", ahead))
				}
			}
		}
		if !free {
			holder, err := l.holder(ctx, st.top)
			if errors.Is(err, storage.ErrNotFound) {
				continue // superseded and cleaned up meanwhile
			}
			if err != nil {
				return nil, err
			}
			now := l.now()
			if now.After(holder.Expires) {
				l.log(fmt.Sprintf("medallion: the writer lease held by %s expired at %s without renewal; taking it over", holder, holder.Expires.UTC().Format(time.RFC3339Nano)))
				free = true
			} else if holder.ID != waitedFor {
				// In the queue before saying so: whoever reads the message
				// may release the lease at once.
				if err := q.join(ctx); err != nil {
					return nil, err
				}
				waitedFor = holder.ID
				l.log(fmt.Sprintf("medallion: waiting for the writer lease, held by %s since %s (expires at %s unless renewed)",
					holder, holder.Acquired.UTC().Format(time.RFC3339), holder.Expires.UTC().Format(time.RFC3339Nano)))
			}
		}
		if free {
			ok, err := l.create(ctx, st.top+1)
			if err != nil {
				return nil, err
			}
			if ok {
				// A generation that was claimed, superseded and cleaned up
				// can be created again by a process that listed before all
				// that: the newest generation is never deleted, so a newer
				// one in the listing means this claim is void.
				after, err := l.state(ctx)
				if err != nil {
					return nil, err
				}
				if after.top > l.gen {
					_ = l.store.Delete(context.WithoutCancel(ctx), leaseKey(l.gen, "json"))
					continue
				}
				l.start(ctx, st)
				return l, nil
			}
			continue // another process won this generation
		}
		if err := q.join(ctx); err != nil {
			return nil, err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("pipeline: waiting for the writer lease: %w", ctx.Err())
		case <-t.C:
		}
	}
}

type leaseState struct {
	top      int64 // newest generation with a .json; 0 when none
	released map[int64]bool
	keys     []string
	queue    []string // keys of the waiting processes' markers
}

// queueDir holds one marker per waiting process, queue/<id>.json: its
// record with the time it started waiting (Acquired) and an expiry it
// renews while it waits, so that a killed waiter is skipped once expired.
const queueDir = leaseDir + "queue/"

// leaseQueue is a waiting process's place in the queue.
type leaseQueue struct {
	l       *Lease
	rec     leaseRecord // Acquired: when this process started waiting
	written time.Time   // when the marker was last written; zero: none
}

func (q *leaseQueue) key() string { return queueDir + q.l.rec.ID + ".json" }

// join writes (or renews) this process's marker.
func (q *leaseQueue) join(ctx context.Context) error {
	now := q.l.now()
	if !q.written.IsZero() && now.Sub(q.written) < q.l.expiry/3 {
		return nil
	}
	if q.written.IsZero() {
		q.rec = q.l.rec
		q.rec.Acquired = now
	}
	q.rec.Expires = now.Add(q.l.expiry)
	b, _ := json.Marshal(q.rec)
	if err := q.l.store.Write(ctx, q.key(), b); err != nil {
		return fmt.Errorf("pipeline: writer lease queue: %w", err)
	}
	q.written = now
	return nil
}

// leave removes this process's marker.
func (q *leaseQueue) leave(ctx context.Context) {
	if !q.written.IsZero() {
		_ = q.l.store.Delete(context.WithoutCancel(ctx), q.key())
	}
}

// ahead returns the live waiter that asked before this process (the
// oldest), or nil when this process is first.
func (q *leaseQueue) ahead(ctx context.Context, st leaseState) (*leaseRecord, error) {
	mine := q.rec.Acquired
	if q.written.IsZero() {
		mine = q.l.now()
	}
	var first *leaseRecord
	for _, k := range st.queue {
		if k == q.key() {
			continue
		}
		b, err := q.l.store.ReadAll(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue // it got the lease or gave up meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline: writer lease queue: %w", err)
		}
		var rec leaseRecord
		if json.Unmarshal(b, &rec) != nil || q.l.now().After(rec.Expires) {
			_ = q.l.store.Delete(ctx, k) // a dead waiter's marker
			continue
		}
		before := rec.Acquired.Before(mine) || (rec.Acquired.Equal(mine) && rec.ID < q.l.rec.ID)
		if before && (first == nil || rec.Acquired.Before(first.Acquired)) {
			first = &rec
		}
	}
	return first, nil
}

// state lists the lease's objects.
func (l *Lease) state(ctx context.Context) (leaseState, error) {
	objs, err := l.store.List(ctx, leaseDir)
	if err != nil {
		return leaseState{}, fmt.Errorf("pipeline: writer lease: %w", err)
	}
	st := leaseState{released: map[int64]bool{}}
	for _, o := range objs {
		if strings.HasPrefix(o.Key, queueDir) {
			st.queue = append(st.queue, o.Key)
			continue
		}
		name := strings.TrimPrefix(o.Key, leaseDir)
		num, ext, ok := strings.Cut(name, ".")
		gen, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			continue
		}
		st.keys = append(st.keys, o.Key)
		switch ext {
		case "json":
			st.top = max(st.top, gen)
		case "released":
			st.released[gen] = true
		}
	}
	return st, nil
}

func leaseKey(gen int64, ext string) string { return fmt.Sprintf("%s%020d.%s", leaseDir, gen, ext) }

// holder reads generation gen's record, with the expiry of its latest
// renewal.
func (l *Lease) holder(ctx context.Context, gen int64) (leaseRecord, error) {
	var rec leaseRecord
	b, err := l.store.ReadAll(ctx, leaseKey(gen, "json"))
	if err != nil {
		return rec, fmt.Errorf("pipeline: writer lease: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("pipeline: writer lease %s: %w", leaseKey(gen, "json"), err)
	}
	hb, err := l.store.ReadAll(ctx, leaseKey(gen, "hb"))
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return rec, fmt.Errorf("pipeline: writer lease: %w", err)
	default:
		var renewed leaseRecord
		if json.Unmarshal(hb, &renewed) == nil && renewed.Expires.After(rec.Expires) {
			rec.Expires, rec.Renewals = renewed.Expires, renewed.Renewals
		}
	}
	return rec, nil
}

// create tries to claim generation gen.
func (l *Lease) create(ctx context.Context, gen int64) (bool, error) {
	now := l.now()
	l.rec.Acquired, l.rec.Expires = now, now.Add(l.expiry)
	b, _ := json.Marshal(l.rec)
	err := l.store.CreateIfAbsent(ctx, leaseKey(gen, "json"), b)
	if errors.Is(err, storage.ErrExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pipeline: writer lease: %w", err)
	}
	l.gen = gen
	return true, nil
}

// start begins renewing a freshly claimed lease and removes the objects of
// older generations.
func (l *Lease) start(ctx context.Context, st leaseState) {
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	for _, k := range st.keys {
		// Best effort: a leftover is ignored by everyone and removed by the
		// next holder.
		_ = l.store.Delete(context.WithoutCancel(ctx), k)
	}
	go l.renew()
}

// renew rewrites the heartbeat every third of the expiry until released,
// and cancels the lease's context when the lease is lost.
func (l *Lease) renew() {
	defer close(l.done)
	expires := l.rec.Expires
	t := time.NewTicker(l.expiry / 3)
	defer t.Stop()
	ctx := context.WithoutCancel(l.ctx)
	for {
		select {
		case <-l.stop:
			return
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		if l.now().After(expires) {
			l.lose(fmt.Sprintf("not renewed before it expired at %s", expires.UTC().Format(time.RFC3339Nano)))
			return
		}
		st, err := l.state(ctx)
		if err == nil && st.top > l.gen {
			l.lose("taken over by a newer holder")
			return
		}
		rec := l.rec
		rec.Renewals++
		rec.Expires = l.now().Add(l.expiry)
		b, _ := json.Marshal(rec)
		if err := l.store.Write(ctx, leaseKey(l.gen, "hb"), b); err != nil {
			l.log(fmt.Sprintf("medallion: renewing the writer lease failed (retrying): %v", err))
			continue
		}
		l.rec.Renewals, expires = rec.Renewals, rec.Expires
	}
}

func (l *Lease) lose(why string) {
	l.log(fmt.Sprintf("medallion: the writer lease of %s was lost (%s); stopping its work", l.rec, why))
	l.cancel(fmt.Errorf("%w: %s", ErrLeaseLost, why))
}

// Context is cancelled when the lease is lost (context.Cause is then
// ErrLeaseLost) or released.
func (l *Lease) Context() context.Context { return l.ctx }

// Holder describes the lease's holder as waiting processes see it.
func (l *Lease) Holder() string { return l.rec.String() }

// Release gives the lease up: the next waiting process proceeds at once.
// Releasing twice does nothing.
func (l *Lease) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		lost := context.Cause(l.ctx)
		l.cancel(context.Canceled)
		if lost != nil && errors.Is(lost, ErrLeaseLost) {
			return // a newer generation exists: nothing of ours to release
		}
		if e := l.store.CreateIfAbsent(context.WithoutCancel(ctx), leaseKey(l.gen, "released"), []byte(l.rec.ID)); e != nil && !errors.Is(e, storage.ErrExists) {
			err = fmt.Errorf("pipeline: release the writer lease: %w", e)
		}
	})
	return err
}
