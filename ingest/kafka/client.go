package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultMaxWait bounds how long Fetch waits for records when Limits.MaxWait
// is zero.
const DefaultMaxWait = 200 * time.Millisecond

// fetchMaxWait is how long a broker may hold an idle fetch. It bounds how
// long a seek waits for the fetch in flight; seekGrace is how much longer
// than MaxWait a Fetch that seeks may wait for records it knows exist.
const (
	fetchMaxWait = 500 * time.Millisecond
	seekGrace    = fetchMaxWait + 500*time.Millisecond
	// readOnWait is how long one round of polling may wait when a batch
	// reads on past MaxWait toward the ends it began with.
	readOnWait = time.Second
)

// refreshEvery is how often Fetch re-lists the topic's partitions and high
// watermarks (to discover new partitions and keep Lag honest).
const refreshEvery = time.Minute

// ErrClosed is returned by Fetch after Close.
var ErrClosed = errors.New("kafka: client closed")

// Record is one consumed record.
type Record struct {
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Timestamp time.Time
}

// Batch is what one Fetch returns.
type Batch struct {
	// Records are ordered by partition, then offset.
	Records []Record
	// Next has, for every partition of the topic, the next offset to read
	// after this batch: the offset after the partition's last record in
	// Records, or the partition's start offset when it has none. Transaction
	// markers and aborted records are not returned, but Next moves past them.
	Next map[int32]int64
	// Lag is, per partition, how many offsets are left after this batch
	// (high watermark − Next, as last seen by the client), for backlog
	// metrics.
	Lag map[int32]int64
}

// Bytes returns the key plus value bytes of the batch's records, the measure
// that Limits.MaxBytes bounds.
func (b *Batch) Bytes() int64 {
	var n int64
	for i := range b.Records {
		n += int64(len(b.Records[i].Key) + len(b.Records[i].Value))
	}
	return n
}

// Limits bound a batch; zero means no bound for that dimension, except that
// MaxWait (default [DefaultMaxWait]) bounds how long Fetch waits for records.
type Limits struct {
	// MaxRecords bounds the number of records.
	MaxRecords int
	// MaxBytes bounds the key plus value bytes of the records; a single
	// record larger than MaxBytes is still returned, alone.
	MaxBytes int64
	// MaxWait bounds how long Fetch waits for more records.
	MaxWait time.Duration
}

// Client reads a topic from explicit offsets. It keeps one long-lived
// connection pool and fetch position: as long as each Fetch is given the
// previous batch's Next, it streams on (records fetched beyond a limit stay
// buffered for the next call); any other offsets make it seek there first.
//
// A Client is safe for concurrent use, but Fetch calls are serialized.
type Client struct {
	cfg       Config
	cl        *kgo.Client
	adm       *kadm.Client
	closeOnce sync.Once

	mu        sync.Mutex
	closed    bool
	parts     map[int32]*partition
	order     []int32 // partition ids, sorted
	refreshed time.Time
	// now is the clock of the partition re-listing (time.Now; tests
	// replace it to move past the once-a-second limit without waiting).
	now func() time.Time
	// pending holds records polled from kgo but not handed out yet, in poll
	// order (which is offset order within each partition), from head on.
	pending []*kgo.Record
	head    int
}

type partition struct {
	// added is set once the partition is added to kgo's consumption.
	added bool
	// consuming is set while kgo fetches the partition from a position
	// this Client chose; cursor and polled are meaningful only then.
	consuming bool
	// cursor is the offset after the last record handed out: the from
	// offset that continues without a seek.
	cursor int64
	// polled is the offset after the last record polled from kgo.
	polled int64
	// hwm and lso are the high watermark and last stable offset as last
	// seen; -1 when unknown.
	hwm, lso int64
	// start is where the partition starts when from has no offset for it;
	// -1 until resolved. It is resolved once per Client, so that repeated
	// calls without an offset read the same records.
	start int64
	// latest: start at the end rather than at the beginning.
	latest bool
}

// Open connects to the brokers and loads the topic's partitions. It fails if
// the topic does not exist or the brokers cannot be reached or authenticated
// against within ctx.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := append(cfg.clientOpts(),
		// Exactly-once ingestion must not see aborted transactions.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers come back so that Next can move past them.
		kgo.KeepControlRecords(),
		// An offset outside the log is an error, never a silent skip.
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.FetchMaxPartitionBytes(4<<20),
		// A seek has to wait for the fetch in flight, which the broker
		// holds up to this long when there is no new data.
		kgo.FetchMaxWait(fetchMaxWait),
		// Partition lists (kadm) are cached this long; new partitions
		// show up within refreshEvery plus this.
		kgo.MetadataMinAge(time.Second),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	c := &Client{cfg: cfg, cl: cl, adm: kadm.NewClient(cl), parts: make(map[int32]*partition), now: time.Now}
	if err := c.refresh(ctx, true); err != nil {
		cl.Close()
		return nil, err
	}
	return c, nil
}

// Close releases the connections. A Fetch in progress returns ErrClosed.
func (c *Client) Close() {
	c.closeOnce.Do(c.cl.Close)
	c.mu.Lock()
	c.closed = true
	c.pending, c.head = nil, 0
	c.mu.Unlock()
}

// Partitions returns the topic's partition ids as last listed, sorted.
func (c *Client) Partitions() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.order)
}

// refresh lists the topic's partitions and their high watermarks. On the
// first call every error is fatal; later calls keep what is known when a
// partition cannot be listed.
func (c *Client) refresh(ctx context.Context, initial bool) error {
	topic := c.cfg.Topic
	listed, err := c.adm.ListEndOffsets(ctx, topic)
	if err == nil && len(listed[topic]) == 0 {
		err = fmt.Errorf("topic %q does not exist", topic)
	}
	if err != nil {
		if initial {
			return fmt.Errorf("kafka: list partitions of topic %q: %w", topic, err)
		}
		return nil
	}
	if o, ok := listed[topic][-1]; ok && o.Err != nil {
		if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("kafka: topic %q does not exist", topic)
		}
		return fmt.Errorf("kafka: list partitions of topic %q: %w", topic, o.Err)
	}
	for p, o := range listed[topic] {
		if o.Err != nil {
			if initial {
				return fmt.Errorf("kafka: list offsets of topic %q partition %d: %w", topic, p, o.Err)
			}
			continue
		}
		st := c.parts[p]
		if st == nil {
			st = &partition{hwm: -1, lso: -1, start: -1, latest: initial && c.cfg.startLatest()}
			c.parts[p] = st
			c.order = append(c.order, p)
		}
		st.hwm = max(st.hwm, o.Offset)
	}
	slices.Sort(c.order)
	c.refreshed = c.now()
	return nil
}

// resolveStarts sets start for the given partitions.
func (c *Client) resolveStarts(ctx context.Context, need []int32) error {
	var earliest, latest kadm.ListedOffsets
	for _, p := range need {
		st := c.parts[p]
		var err error
		var l kadm.ListedOffsets
		if st.latest {
			if latest == nil {
				// The last stable offset: the end as read_committed sees it.
				latest, err = c.adm.ListCommittedOffsets(ctx, c.cfg.Topic)
			}
			l = latest
		} else {
			if earliest == nil {
				earliest, err = c.adm.ListStartOffsets(ctx, c.cfg.Topic)
			}
			l = earliest
		}
		if err != nil {
			return fmt.Errorf("kafka: list start offsets of topic %q: %w", c.cfg.Topic, err)
		}
		o, ok := l.Lookup(c.cfg.Topic, p)
		switch {
		case !ok:
			return fmt.Errorf("kafka: list start offsets of topic %q: partition %d missing", c.cfg.Topic, p)
		case o.Err != nil:
			return fmt.Errorf("kafka: list start offsets of topic %q partition %d: %w", c.cfg.Topic, p, o.Err)
		case o.Offset < 0:
			return fmt.Errorf("kafka: list start offsets of topic %q partition %d: no offset", c.cfg.Topic, p)
		}
		st.start = o.Offset
	}
	return nil
}

// Fetch reads records starting at from (partition → next offset to read;
// partitions absent from from start per cfg.StartFrom, resolved once per
// Client), at most lim, and returns after lim.MaxWait at the latest when
// there is nothing new. It returns as soon as a limit is reached, or once it
// has records and has read everything the brokers had. It never skips or
// repeats a record relative to from.
//
// Passing the previous batch's Next streams on without a round trip for
// buffered records; other offsets make the Client seek, and such a call may
// wait up to about a second (rather than MaxWait) for the first records when
// the partitions are known to have some.
//
// An offset before the log start (deleted by retention) or after the end is
// an error, as is a partition the topic does not have. After an error the
// Client seeks again on the next call, so calling Fetch again with the same
// from is safe.
func (c *Client) Fetch(ctx context.Context, from map[int32]int64, lim Limits) (Batch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Batch{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	wait := lim.MaxWait
	if wait <= 0 {
		wait = DefaultMaxWait
	}
	deadline := time.Now().Add(wait)

	if c.now().Sub(c.refreshed) > refreshEvery {
		_ = c.refresh(ctx, false) // best effort: keeps what is known
	}
	for p, off := range from {
		if _, ok := c.parts[p]; !ok && c.now().Sub(c.refreshed) > time.Second {
			_ = c.refresh(ctx, false) // maybe a new partition
		}
		if _, ok := c.parts[p]; !ok {
			return Batch{}, fmt.Errorf("kafka: topic %q has no partition %d", c.cfg.Topic, p)
		}
		if off < 0 {
			return Batch{}, fmt.Errorf("kafka: partition %d: offset %d is negative", p, off)
		}
	}
	// The high watermarks for Lag, listed while we fetch.
	ends := c.listEnds(ctx)

	sought, err := c.seek(ctx, from)
	if err != nil {
		return Batch{}, err
	}
	// After a seek, records the partitions are known to have are worth
	// waiting for a little longer than MaxWait: kgo first waits for the
	// fetch in flight, then fetches from the new offsets.
	graceUntil := deadline
	if sought {
		graceUntil = time.Now().Add(seekGrace)
	}

	var acc accum
	c.takePending(lim, &acc)
	// Once MaxWait has passed with records in hand, the batch still takes
	// everything up to the partitions' ends as known at that moment
	// (target): a one-shot run reads all that is available, not what 50 ms
	// allowed, and a fast producer cannot make a batch unbounded. It
	// stops early only when a round of polling brings nothing (a tail of
	// aborted transactions is never returned).
	var target map[int32]int64
	progressed := false // by the last round of reading on
	for !acc.full {
		caughtUp := c.caughtUp()
		if len(acc.recs) > 0 && caughtUp {
			break // everything the brokers had is in the batch
		}
		until := deadline
		if len(acc.recs) == 0 && !caughtUp && graceUntil.After(until) {
			until = graceUntil
		}
		if !time.Now().Before(until) {
			if len(acc.recs) == 0 || (target != nil && !progressed) {
				break
			}
			if target == nil {
				c.applyEnds(&ends, time.Second)
				target = c.ends()
			}
			if c.reached(target) {
				break
			}
			until = time.Now().Add(max(wait, readOnWait))
		}
		before := len(acc.recs)
		pctx, cancel := context.WithDeadline(ctx, until)
		fetches := c.cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return Batch{}, err
		}
		if err := c.absorb(fetches); err != nil {
			return Batch{}, err
		}
		c.takePending(lim, &acc)
		c.applyEnds(&ends, 0)
		progressed = len(acc.recs) > before
	}
	c.applyEnds(&ends, time.Second)
	return c.batch(acc.recs), nil
}

// listEnds lists the partitions' high watermarks in the background; the
// channel delivers the result once (nil on failure).
func (c *Client) listEnds(ctx context.Context) <-chan map[int32]int64 {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = c.cfg.Topic
	for _, p := range c.order {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p
		rp.Timestamp = -1 // the end
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	ch := make(chan map[int32]int64, 1)
	go func() {
		ends := make(map[int32]int64)
		for _, shard := range c.cl.RequestSharded(ctx, req) {
			resp, ok := shard.Resp.(*kmsg.ListOffsetsResponse)
			if shard.Err != nil || !ok {
				continue
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode == 0 && t.Topic == c.cfg.Topic {
						ends[p.Partition] = p.Offset
					}
				}
			}
		}
		ch <- ends
	}()
	return ch
}

// applyEnds records listed high watermarks if they have arrived, waiting up
// to wait for them, and then sets *ch to nil.
func (c *Client) applyEnds(ch *<-chan map[int32]int64, wait time.Duration) {
	if *ch == nil {
		return
	}
	var ends map[int32]int64
	if wait <= 0 {
		select {
		case ends = <-*ch:
		default:
			return
		}
	} else {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case ends = <-*ch:
		case <-t.C:
			return
		}
	}
	*ch = nil
	for p, end := range ends {
		if st := c.parts[p]; st != nil {
			st.hwm = max(st.hwm, end)
		}
	}
}

// seek points every partition at from (or its resolved start), seeking kgo
// only for partitions whose position differs; it reports whether it did.
func (c *Client) seek(ctx context.Context, from map[int32]int64) (bool, error) {
	var need []int32
	for _, p := range c.order {
		if _, ok := from[p]; !ok && c.parts[p].start < 0 {
			need = append(need, p)
		}
	}
	if len(need) > 0 {
		if err := c.resolveStarts(ctx, need); err != nil {
			return false, err
		}
	}

	var remove []int32
	add := make(map[int32]kgo.Offset)
	for _, p := range c.order {
		st := c.parts[p]
		want, ok := from[p]
		if !ok {
			want = st.start
		}
		if st.consuming && st.cursor == want {
			continue
		}
		if st.added {
			remove = append(remove, p)
		}
		st.added, st.consuming, st.cursor, st.polled = true, true, want, want
		add[p] = kgo.NewOffset().At(want)
	}
	if len(add) == 0 {
		return false, nil
	}
	c.dropPending(func(p int32) bool { _, ok := add[p]; return ok })
	// Removing and re-adding, rather than SetOffsets, also covers a
	// partition that kgo has not started fetching yet. Either way kgo drops
	// what it has buffered and fetched for the partition.
	if len(remove) > 0 {
		c.cl.RemoveConsumePartitions(map[string][]int32{c.cfg.Topic: remove})
	}
	c.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{c.cfg.Topic: add})
	return true, nil
}

// dropPending removes the pending records of the partitions drop selects.
func (c *Client) dropPending(drop func(int32) bool) {
	n := 0
	for _, r := range c.pending[c.head:] {
		if !drop(r.Partition) {
			c.pending[n] = r
			n++
		}
	}
	clear(c.pending[n:])
	c.pending, c.head = c.pending[:n], 0
}

// absorb appends polled records to pending and records the partitions'
// positions and watermarks. A partition error unseats the partition (the
// next Fetch seeks it again) and is returned.
func (c *Client) absorb(fetches kgo.Fetches) error {
	var errs []error
	for i := range fetches {
		for j := range fetches[i].Topics {
			ft := &fetches[i].Topics[j]
			for k := range ft.Partitions {
				fp := &ft.Partitions[k]
				if fp.Err != nil {
					errs = append(errs, c.fetchErr(ft.Topic, fp.Partition, fp.Err))
					continue
				}
				st := c.parts[fp.Partition]
				if ft.Topic != c.cfg.Topic || st == nil || !st.consuming {
					continue
				}
				st.hwm = max(st.hwm, fp.HighWatermark)
				st.lso = fp.LastStableOffset
				if n := len(fp.Records); n > 0 {
					st.polled = fp.Records[n-1].Offset + 1
					c.pending = append(c.pending, fp.Records...)
				}
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fetchErr turns a poll error into Fetch's error; nil means "ignore" (our
// own MaxWait deadline).
func (c *Client) fetchErr(topic string, p int32, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return nil // MaxWait elapsed; the caller's ctx is checked separately
	case errors.Is(err, kgo.ErrClientClosed):
		return ErrClosed
	}
	if st := c.parts[p]; topic == c.cfg.Topic && st != nil {
		if !st.consuming {
			return nil // reported already; the next Fetch seeks again
		}
		st.consuming = false
		c.dropPending(func(q int32) bool { return q == p })
		if errors.Is(err, kerr.OffsetOutOfRange) {
			return fmt.Errorf("kafka: topic %q partition %d: offset %d is outside the log (deleted by retention, or past the end): %w", topic, p, st.polled, err)
		}
	}
	return fmt.Errorf("kafka: topic %q partition %d: %w", topic, p, err)
}

type accum struct {
	recs  []*kgo.Record
	bytes int64
	full  bool
}

// takePending moves pending records into acc until a limit is reached,
// advancing the partitions' cursors. Transaction markers only advance the
// cursor.
func (c *Client) takePending(lim Limits, acc *accum) {
	for c.head < len(c.pending) {
		r := c.pending[c.head]
		st := c.parts[r.Partition]
		if st == nil || !st.consuming || r.Offset < st.cursor {
			c.head++ // not ours, or already handed out
			continue
		}
		if r.Attrs.IsControl() {
			st.cursor = r.Offset + 1
			c.head++
			continue
		}
		if lim.MaxRecords > 0 && len(acc.recs) >= lim.MaxRecords {
			acc.full = true
			break
		}
		size := int64(len(r.Key) + len(r.Value))
		if lim.MaxBytes > 0 && len(acc.recs) > 0 && acc.bytes+size > lim.MaxBytes {
			acc.full = true
			break
		}
		acc.recs = append(acc.recs, r)
		acc.bytes += size
		st.cursor = r.Offset + 1
		c.head++
	}
	if c.head == len(c.pending) {
		clear(c.pending)
		c.pending, c.head = c.pending[:0], 0
	}
	if lim.MaxRecords > 0 && len(acc.recs) >= lim.MaxRecords {
		acc.full = true
	}
}

// caughtUp reports whether every partition has been polled up to its end as
// last seen (the last stable offset, since we read committed records only).
func (c *Client) caughtUp() bool {
	if c.head < len(c.pending) {
		return false
	}
	for _, st := range c.parts {
		if !st.consuming {
			continue
		}
		end := st.hwm
		if st.lso >= 0 && st.lso < end {
			end = st.lso
		}
		if st.polled < end {
			return false
		}
	}
	return true
}

// ends returns the end (high watermark, or last stable offset when lower)
// of every partition being consumed, as last seen.
func (c *Client) ends() map[int32]int64 {
	out := make(map[int32]int64, len(c.parts))
	for p, st := range c.parts {
		if !st.consuming {
			continue
		}
		end := st.hwm
		if st.lso >= 0 && st.lso < end {
			end = st.lso
		}
		out[p] = end
	}
	return out
}

// reached reports whether every partition has been polled up to its end in
// target and every polled record handed out.
func (c *Client) reached(target map[int32]int64) bool {
	if c.head < len(c.pending) {
		return false
	}
	for p, end := range target {
		if st := c.parts[p]; st != nil && st.consuming && st.polled < end {
			return false
		}
	}
	return true
}

// batch builds the Batch for the taken records.
func (c *Client) batch(recs []*kgo.Record) Batch {
	b := Batch{Next: make(map[int32]int64, len(c.order)), Lag: make(map[int32]int64, len(c.order))}
	for _, p := range c.order {
		st := c.parts[p]
		b.Next[p] = st.cursor
		b.Lag[p] = max(0, st.hwm-st.cursor)
	}
	if len(recs) == 0 {
		return b
	}
	// Counting sort by partition; records of one partition are already in
	// offset order.
	at := make(map[int32]int, len(c.order))
	for _, r := range recs {
		at[r.Partition]++
	}
	n := 0
	for _, p := range c.order {
		k := at[p]
		at[p] = n
		n += k
	}
	b.Records = make([]Record, len(recs))
	for _, r := range recs {
		i := at[r.Partition]
		at[r.Partition] = i + 1
		b.Records[i] = Record{Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
	}
	return b
}
