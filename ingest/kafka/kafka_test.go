package kafka

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const testTopic = "orders"

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// jsonValue is a small JSON record of roughly size bytes carrying id.
func jsonValue(id int, size int) []byte {
	v := fmt.Appendf(nil, `{"id":%d,"customer":"c-%05d","amount":%d.%02d,"currency":"EUR","status":"paid","note":"`, id, id%10000, id%1000, id%100)
	for len(v) < size-2 {
		v = append(v, 'x')
	}
	return append(v, '"', '}')
}

// produce writes ids [first, first+n) keyed by id, so they spread over the
// partitions.
func produce(t testing.TB, cfg Config, first, n, size int) {
	t.Helper()
	ctx := testCtx(t)
	p, err := NewProducer(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for id := first; id < first+n; id++ {
		if err := p.Produce(ctx, []byte(strconv.Itoa(id)), jsonValue(id, size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func open(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := Open(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// checkBatch verifies one batch against the offsets it was fetched from.
// contiguous: the topic has no gaps (no transactions), so every partition's
// records start exactly at from and have consecutive offsets.
func checkBatch(t testing.TB, parts []int32, from map[int32]int64, b Batch, lim Limits, contiguous bool) {
	t.Helper()
	if len(b.Next) != len(parts) || len(b.Lag) != len(parts) {
		t.Fatalf("Next %v / Lag %v: want every partition of %v", b.Next, b.Lag, parts)
	}
	if lim.MaxRecords > 0 && len(b.Records) > lim.MaxRecords {
		t.Fatalf("%d records > MaxRecords %d", len(b.Records), lim.MaxRecords)
	}
	if lim.MaxBytes > 0 && len(b.Records) > 1 && b.Bytes() > lim.MaxBytes {
		t.Fatalf("%d bytes in %d records > MaxBytes %d", b.Bytes(), len(b.Records), lim.MaxBytes)
	}
	last := make(map[int32]int64)
	for i, r := range b.Records {
		if i > 0 {
			prev := b.Records[i-1]
			if r.Partition < prev.Partition || r.Partition == prev.Partition && r.Offset <= prev.Offset {
				t.Fatalf("records not ordered by partition, offset: %d/%d after %d/%d", r.Partition, r.Offset, prev.Partition, prev.Offset)
			}
		}
		want, hasFrom := from[r.Partition]
		prev, seen := last[r.Partition]
		switch {
		case seen && contiguous && r.Offset != prev+1:
			t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, prev)
		case !seen && hasFrom && contiguous && r.Offset != want:
			t.Fatalf("partition %d: first offset %d, from %d", r.Partition, r.Offset, want)
		case !seen && hasFrom && r.Offset < want:
			t.Fatalf("partition %d: offset %d before from %d (repeat)", r.Partition, r.Offset, want)
		}
		last[r.Partition] = r.Offset
	}
	for _, p := range parts {
		if l, ok := last[p]; ok {
			// Without contiguity Next may move past transaction markers.
			if b.Next[p] != l+1 && (contiguous || b.Next[p] < l+1) {
				t.Fatalf("partition %d: Next %d, last offset %d", p, b.Next[p], l)
			}
		} else if f, ok := from[p]; ok && contiguous && b.Next[p] != f {
			t.Fatalf("partition %d: no records but Next %d != from %d", p, b.Next[p], f)
		}
	}
}

// drain fetches from from until every partition's lag is 0, checking each
// batch, and returns the records and the final Next.
func drain(t testing.TB, c *Client, from map[int32]int64, lim Limits, contiguous bool) ([]Record, map[int32]int64) {
	t.Helper()
	ctx := testCtx(t)
	var all []Record
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("drain does not end")
		}
		b, err := c.Fetch(ctx, from, lim)
		if err != nil {
			t.Fatal(err)
		}
		checkBatch(t, c.Partitions(), from, b, lim, contiguous)
		all = append(all, b.Records...)
		from = b.Next
		var lag int64
		for _, l := range b.Lag {
			lag += l
		}
		if lag == 0 {
			return all, from
		}
	}
}

// ids checks that records carry ids [first, first+n) exactly once and in
// produce order within each partition.
func ids(t testing.TB, recs []Record, first, n int) {
	t.Helper()
	seen := make(map[int]bool, n)
	lastID := make(map[int32]int)
	for _, r := range recs {
		id, err := strconv.Atoi(string(r.Key))
		if err != nil {
			t.Fatalf("key %q", r.Key)
		}
		if seen[id] {
			t.Fatalf("id %d repeated", id)
		}
		seen[id] = true
		if l, ok := lastID[r.Partition]; ok && id < l {
			t.Fatalf("partition %d: id %d after %d", r.Partition, id, l)
		}
		lastID[r.Partition] = id
		if !bytes.Equal(r.Value, jsonValue(id, len(r.Value))) {
			t.Fatalf("id %d: value %q", id, r.Value)
		}
		if r.Timestamp.IsZero() {
			t.Fatalf("id %d: no timestamp", id)
		}
	}
	for id := first; id < first+n; id++ {
		if !seen[id] {
			t.Fatalf("id %d missing (%d of %d records)", id, len(seen), n)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct ids, want %d", len(seen), n)
	}
}

func cfgFor(brokers []string) Config {
	return Config{Brokers: brokers, Topic: testTopic}
}

func TestFetchExactlyOnce(t *testing.T) {
	cfg := cfgFor(kafkatest.Start(t, testTopic, 3))
	const n = 5000
	produce(t, cfg, 0, n, 200)
	c := open(t, cfg)
	if got := c.Partitions(); len(got) != 3 {
		t.Fatalf("partitions %v", got)
	}

	ctx := testCtx(t)
	lim := Limits{MaxRecords: 333}
	from := map[int32]int64{}
	var all []Record
	hwm := map[int32]int64{}
	batches := 0
	for {
		b, err := c.Fetch(ctx, from, lim)
		if err != nil {
			t.Fatal(err)
		}
		batches++
		checkBatch(t, c.Partitions(), from, b, lim, true)
		all = append(all, b.Records...)
		from = b.Next
		if len(b.Records) == 0 {
			break
		}
		if len(all) < n && len(b.Records) != lim.MaxRecords {
			t.Fatalf("batch %d: %d records with a backlog, want %d", batches, len(b.Records), lim.MaxRecords)
		}
		if batches == 1 {
			for p, next := range b.Next {
				hwm[p] = next + b.Lag[p]
			}
		}
		for p, next := range b.Next {
			if got := next + b.Lag[p]; got != hwm[p] {
				t.Fatalf("partition %d: Next %d + Lag %d != high watermark %d", p, next, b.Lag[p], hwm[p])
			}
		}
	}
	ids(t, all, 0, n)
	var sum int64
	for p, next := range from {
		if next != hwm[p] || next == 0 {
			t.Fatalf("partition %d: final Next %d, high watermark %d", p, next, hwm[p])
		}
		sum += next
	}
	if sum != n {
		t.Fatalf("Next offsets add up to %d, want %d", sum, n)
	}

	// Caught up: an empty batch (after MaxWait), offsets unchanged.
	b, err := c.Fetch(ctx, from, Limits{MaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Records) != 0 {
		t.Fatalf("%d records after the end", len(b.Records))
	}
	for p, next := range b.Next {
		if next != from[p] || b.Lag[p] != 0 {
			t.Fatalf("partition %d: Next %d Lag %d at the end, want %d, 0", p, next, b.Lag[p], from[p])
		}
	}

	// Unbounded: one Fetch takes the whole topic again.
	all, _ = drain(t, c, map[int32]int64{0: 0, 1: 0, 2: 0}, Limits{MaxWait: 5 * time.Second}, true)
	ids(t, all, 0, n)
}

func TestResume(t *testing.T) {
	cfg := cfgFor(kafkatest.Start(t, testTopic, 3))
	const n = 3000
	produce(t, cfg, 0, n, 150)
	c := open(t, cfg)
	ctx := testCtx(t)
	lim := Limits{MaxRecords: 250}

	// Read about half, remember the offsets, read the rest.
	from := map[int32]int64{}
	var before []Record
	for len(before) < n/2 {
		b, err := c.Fetch(ctx, from, lim)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, b.Records...)
		from = b.Next
	}
	mid := from
	after, end := drain(t, c, mid, lim, true)
	ids(t, append(append([]Record(nil), before...), after...), 0, n)

	same := func(name string, got []Record) {
		t.Helper()
		sortRecords(got)
		want := sortRecords(append([]Record(nil), after...))
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i].Partition != want[i].Partition || got[i].Offset != want[i].Offset || !bytes.Equal(got[i].Value, want[i].Value) {
				t.Fatalf("%s: record %d is %d/%d, want %d/%d", name, i, got[i].Partition, got[i].Offset, want[i].Partition, want[i].Offset)
			}
		}
	}
	// The same Client seeks back to stored offsets (a failed Delta commit);
	// the first batch is not empty even with a short MaxWait.
	b, err := c.Fetch(ctx, mid, Limits{MaxRecords: 97, MaxWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Records) != 97 {
		t.Fatalf("first batch after a seek has %d records, want 97", len(b.Records))
	}
	again, end2 := drain(t, c, mid, Limits{MaxRecords: 97}, true)
	same("seek back", again)
	if fmt.Sprint(end2) != fmt.Sprint(end) {
		t.Fatalf("Next %v after the replay, want %v", end2, end)
	}
	// A new Client resumes from the stored offsets.
	c2 := open(t, cfg)
	again, _ = drain(t, c2, mid, lim, true)
	same("new client", again)

	// Only partition 0 stored: the others start at the earliest offset.
	part, _ := drain(t, c2, map[int32]int64{0: mid[0]}, lim, true)
	var want int
	for _, r := range before {
		if r.Partition != 0 {
			want++
		}
	}
	want += len(after)
	if len(part) != want {
		t.Fatalf("%d records with only partition 0 stored, want %d", len(part), want)
	}

	// A reopened Client continues from the last Next with no gap or repeat.
	c.Close()
	c2.Close()
	produce(t, cfg, n, 1000, 150)
	c3 := open(t, cfg)
	more, _ := drain(t, c3, end, lim, true)
	ids(t, more, n, 1000)
}

func sortRecords(rs []Record) []Record {
	slices.SortFunc(rs, func(a, b Record) int {
		if c := cmp.Compare(a.Partition, b.Partition); c != 0 {
			return c
		}
		return cmp.Compare(a.Offset, b.Offset)
	})
	return rs
}

func TestLimits(t *testing.T) {
	cfg := cfgFor(kafkatest.Start(t, testTopic, 3))
	const n = 2000
	produce(t, cfg, 0, n, 200)
	c := open(t, cfg)

	t.Run("MaxRecords=1", func(t *testing.T) {
		from := map[int32]int64{}
		for range 20 {
			b, err := c.Fetch(testCtx(t), from, Limits{MaxRecords: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Records) != 1 {
				t.Fatalf("%d records, want 1", len(b.Records))
			}
			checkBatch(t, c.Partitions(), from, b, Limits{MaxRecords: 1}, true)
			from = b.Next
		}
		all, _ := drain(t, c, map[int32]int64{}, Limits{MaxRecords: 1000}, true)
		ids(t, all, 0, n)
	})
	t.Run("MaxBytes", func(t *testing.T) {
		lim := Limits{MaxBytes: 1000}
		b, err := c.Fetch(testCtx(t), nil, lim)
		if err != nil {
			t.Fatal(err)
		}
		if b.Bytes() > 1000 || len(b.Records) < 4 {
			t.Fatalf("%d records, %d bytes for MaxBytes 1000", len(b.Records), b.Bytes())
		}
		all, _ := drain(t, c, nil, lim, true)
		ids(t, all, 0, n)
	})
	t.Run("both", func(t *testing.T) {
		all, _ := drain(t, c, nil, Limits{MaxRecords: 50, MaxBytes: 4000}, true)
		ids(t, all, 0, n)
	})
	t.Run("record larger than MaxBytes", func(t *testing.T) {
		produce(t, cfg, n, 1, 5000)
		_, end := drain(t, c, nil, Limits{}, true)
		var p int32
		for _, q := range c.Partitions() {
			// Find the partition holding the big record: its last record.
			b, err := c.Fetch(testCtx(t), map[int32]int64{0: end[0], 1: end[1], 2: end[2], q: end[q] - 1}, Limits{MaxBytes: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Records) != 1 {
				t.Fatalf("partition %d: %d records from its last offset", q, len(b.Records))
			}
			if len(b.Records[0].Value) == 5000 {
				p = q
			}
		}
		from := map[int32]int64{0: end[0], 1: end[1], 2: end[2]}
		from[p] = end[p] - 2
		b, err := c.Fetch(testCtx(t), from, Limits{MaxBytes: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Records) != 1 || b.Next[p] != end[p]-1 {
			t.Fatalf("%d records, Next %d: want the small record alone", len(b.Records), b.Next[p])
		}
		b, err = c.Fetch(testCtx(t), b.Next, Limits{MaxBytes: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Records) != 1 || len(b.Records[0].Value) != 5000 || b.Next[p] != end[p] {
			t.Fatalf("%d records, Next %d: want the big record alone", len(b.Records), b.Next[p])
		}
	})
}

func TestStartFromLatest(t *testing.T) {
	brokers := kafkatest.Start(t, testTopic, 3)
	cfg := cfgFor(brokers)
	produce(t, cfg, 0, 300, 100)
	latest := cfg
	latest.StartFrom = StartLatest
	c := open(t, latest)
	ctx := testCtx(t)

	b, err := c.Fetch(ctx, nil, Limits{MaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for p, next := range b.Next {
		sum += next
		if b.Lag[p] != 0 {
			t.Fatalf("partition %d: lag %d at latest", p, b.Lag[p])
		}
	}
	if len(b.Records) != 0 || sum != 300 {
		t.Fatalf("%d records, Next %v: want none, at the end", len(b.Records), b.Next)
	}
	produce(t, cfg, 300, 200, 100)
	recs, _ := drain(t, c, b.Next, Limits{MaxRecords: 64}, true)
	ids(t, recs, 300, 200)
	// Without stored offsets the same Client starts where it resolved
	// "latest" the first time, so a retry reads the same records.
	recs, _ = drain(t, c, nil, Limits{}, true)
	ids(t, recs, 300, 200)
	// A stored offset wins over start_from.
	recs, _ = drain(t, c, map[int32]int64{0: 0, 1: 0, 2: 0}, Limits{}, true)
	ids(t, recs, 0, 500)
	// Earliest (the default) for comparison.
	recs, _ = drain(t, open(t, cfg), nil, Limits{}, true)
	ids(t, recs, 0, 500)
}

func TestLiveTail(t *testing.T) {
	cfg := cfgFor(kafkatest.Start(t, testTopic, 3))
	c := open(t, cfg)
	const n = 3000
	var wg sync.WaitGroup
	produced := make(chan struct{})
	wg.Go(func() {
		defer close(produced)
		for i := 0; i < n; i += 300 {
			produce(t, cfg, i, 300, 120)
			time.Sleep(20 * time.Millisecond)
		}
	})
	ctx := testCtx(t)
	from := map[int32]int64{}
	var all []Record
	// Tail until every record came, or the producer is done and a fetch
	// finds nothing more (then ids reports what is missing).
tail:
	for len(all) < n {
		b, err := c.Fetch(ctx, from, Limits{MaxRecords: 500, MaxWait: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		checkBatch(t, c.Partitions(), from, b, Limits{MaxRecords: 500}, true)
		all = append(all, b.Records...)
		from = b.Next
		select {
		case <-produced:
			if len(b.Records) == 0 {
				break tail
			}
		default:
		}
	}
	wg.Wait()
	b, err := c.Fetch(ctx, from, Limits{MaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, b.Records...)
	ids(t, all, 0, n)
}

func TestTransactions(t *testing.T) {
	brokers := kafkatest.Start(t, testTopic, 2)
	ctx := testCtx(t)
	tx, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(testTopic), kgo.TransactionalID("tx"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	txn := func(first, n int, commit bool) {
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for id := first; id < first+n; id++ {
			if err := tx.ProduceSync(ctx, &kgo.Record{Key: []byte(strconv.Itoa(id)), Value: jsonValue(id, 80)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	txn(0, 100, true)
	txn(1000, 50, false) // aborted: never returned
	txn(100, 100, true)

	c := open(t, cfgFor(brokers))
	recs, end := drain(t, c, nil, Limits{MaxRecords: 30}, false)
	ids(t, recs, 0, 200)
	// Next moves past the last commit marker: nothing is left to read.
	var sum int64
	for _, next := range end {
		sum += next
	}
	if sum < 250+3*2 { // records plus one marker per partition and transaction
		t.Fatalf("Next %v does not cover the transaction markers", end)
	}
	b, err := c.Fetch(ctx, end, Limits{MaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for p, l := range b.Lag {
		if l != 0 || len(b.Records) != 0 {
			t.Fatalf("partition %d: lag %d, %d records after the end", p, l, len(b.Records))
		}
	}
}

func TestFetchErrors(t *testing.T) {
	cfg := cfgFor(kafkatest.Start(t, testTopic, 3))
	produce(t, cfg, 0, 300, 100)
	c := open(t, cfg)
	ctx := testCtx(t)
	_, end := drain(t, c, nil, Limits{}, true)

	cases := []struct {
		name string
		from map[int32]int64
		want string
	}{
		{"negative", map[int32]int64{1: -1}, "offset -1 is negative"},
		{"unknown partition", map[int32]int64{7: 0}, `topic "orders" has no partition 7`},
		{"past the end", map[int32]int64{0: end[0] + 10, 1: end[1], 2: end[2]}, "outside the log"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Fetch(ctx, tc.from, Limits{MaxWait: 2 * time.Second})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	// The Client recovers with good offsets.
	recs, _ := drain(t, c, map[int32]int64{}, Limits{MaxRecords: 100}, true)
	ids(t, recs, 0, 300)

	t.Run("missing topic", func(t *testing.T) {
		bad := cfg
		bad.Topic = "nope"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := Open(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), `topic "nope" does not exist`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c.Close()
		c.Close()
		if _, err := c.Fetch(ctx, end, Limits{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("error %v, want ErrClosed", err)
		}
	})
}

func TestSASL(t *testing.T) {
	// Event Hubs style: PLAIN, user $ConnectionString, the connection
	// string as the password.
	const connStr = "Endpoint=sb://medallion.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0Cg=="
	cases := []struct {
		mech, user, pass string
		tls              bool
	}{
		{MechanismPlain, "$ConnectionString", connStr, false},
		{MechanismPlain, "$ConnectionString", connStr, true},
		{MechanismScramSHA256, "ingest", "s3cret-256", false},
		{MechanismScramSHA512, "ingest", "s3cret-512", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s tls=%v", tc.mech, tc.tls), func(t *testing.T) {
			kc := kafkatest.StartWith(t, testTopic, kafkatest.Options{
				Partitions: 3,
				SASL:       &kafkatest.SASL{Mechanism: tc.mech, User: tc.user, Password: tc.pass},
				TLS:        tc.tls,
			})
			t.Setenv("MEDALLION_TEST_KAFKA_PASSWORD", tc.pass)
			cfg := Config{
				Brokers: kc.Brokers, Topic: testTopic, TLS: tc.tls, rootCAs: kc.RootCAs,
				SASL: &SASLConfig{Mechanism: strings.ToLower(tc.mech), Username: tc.user, PasswordEnv: "MEDALLION_TEST_KAFKA_PASSWORD"},
			}
			produce(t, cfg, 0, 500, 100)
			recs, _ := drain(t, open(t, cfg), nil, Limits{MaxRecords: 200}, true)
			ids(t, recs, 0, 500)

			t.Setenv("MEDALLION_TEST_KAFKA_PASSWORD", "wrong")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if c, err := Open(ctx, cfg); err == nil {
				c.Close()
				t.Fatal("Open with a wrong password succeeded")
			}
			if tc.tls {
				plain := cfg
				plain.rootCAs = nil // system roots do not trust the test CA
				t.Setenv("MEDALLION_TEST_KAFKA_PASSWORD", tc.pass)
				if c, err := Open(ctx, plain); err == nil {
					c.Close()
					t.Fatal("Open trusted an unknown certificate")
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("MEDALLION_TEST_SET", "x")
	t.Setenv("MEDALLION_TEST_EMPTY", "")
	ok := func() Config { return Config{Brokers: []string{"localhost:9092"}, Topic: "orders"} }
	sasl := func(m, u, env string) func(*Config) {
		return func(c *Config) { c.SASL = &SASLConfig{Mechanism: m, Username: u, PasswordEnv: env} }
	}
	cases := []struct {
		name string
		edit func(*Config)
		want []string // substrings; none means valid
	}{
		{"minimal", func(*Config) {}, nil},
		{"full", func(c *Config) {
			c.Brokers = []string{"a:9093", "b:9093"}
			c.TLS = true
			c.StartFrom = "latest"
			sasl("SCRAM-SHA-512", "u", "MEDALLION_TEST_SET")(c)
		}, nil},
		{"event hubs", func(c *Config) {
			c.Brokers = []string{"ns.servicebus.windows.net:9093"}
			c.TLS = true
			sasl("plain", "$ConnectionString", "MEDALLION_TEST_SET")(c)
		}, nil},
		{"no brokers", func(c *Config) { c.Brokers = nil }, []string{"kafka.brokers: at least one broker"}},
		{"broker without port", func(c *Config) { c.Brokers = []string{"a:9092", "b"} }, []string{`kafka.brokers[1]: "b" is not host:port`}},
		{"broker bad port", func(c *Config) { c.Brokers = []string{"a:http"} }, []string{`kafka.brokers[0]: "a:http" has an invalid port`}},
		{"no topic", func(c *Config) { c.Topic = "" }, []string{"kafka.topic: required"}},
		{"bad topic", func(c *Config) { c.Topic = "a/b" }, []string{`kafka.topic: "a/b" has '/'`}},
		{"start_from", func(c *Config) { c.StartFrom = "oldest" }, []string{`kafka.start_from: "oldest" is not "earliest" or "latest"`}},
		{"mechanism", func(c *Config) { sasl("GSSAPI", "u", "MEDALLION_TEST_SET")(c) }, []string{`kafka.sasl.mechanism: "GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`}},
		{"no mechanism", func(c *Config) { sasl("", "u", "MEDALLION_TEST_SET")(c) }, []string{"kafka.sasl.mechanism: required"}},
		{"no username", func(c *Config) { sasl("PLAIN", "", "MEDALLION_TEST_SET")(c) }, []string{"kafka.sasl.username: required"}},
		{"no password_env", func(c *Config) { sasl("PLAIN", "u", "")(c) }, []string{"kafka.sasl.password_env: required"}},
		{"password env unset", func(c *Config) { sasl("PLAIN", "u", "MEDALLION_TEST_UNSET")(c) }, []string{"kafka.sasl.password_env: env var MEDALLION_TEST_UNSET is not set"}},
		{"password env empty", func(c *Config) { sasl("PLAIN", "u", "MEDALLION_TEST_EMPTY")(c) }, []string{"kafka.sasl.password_env: env var MEDALLION_TEST_EMPTY is empty"}},
		{"event hubs without tls and sasl", func(c *Config) { c.Brokers = []string{"ns.servicebus.windows.net:9093"} }, []string{"kafka.tls: Event Hubs", "kafka.sasl: Event Hubs"}},
		{"several problems", func(c *Config) { c.Brokers = nil; c.Topic = ""; c.StartFrom = "x" }, []string{"kafka.brokers:", "kafka.topic:", "kafka.start_from:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
			if _, oerr := Open(context.Background(), c); oerr == nil || oerr.Error() != err.Error() {
				t.Fatalf("Open error %v, want the Validate error", oerr)
			}
		})
	}
}

func TestNewPartition(t *testing.T) {
	cfg := cfgFor(kafkatest.Start(t, testTopic, 2))
	produce(t, cfg, 0, 200, 100)
	c := open(t, cfg)
	_, end := drain(t, c, nil, Limits{}, true)

	adm := kadm.NewClient(mustKgo(t, cfg.Brokers))
	if _, err := adm.CreatePartitions(testCtx(t), 1, testTopic); err != nil {
		t.Fatal(err)
	}
	// Fetch re-lists the partitions at most once a second by its clock:
	// move the clock on at every call instead of sleeping, until the
	// brokers' metadata shows the new partition.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	c.mu.Lock()
	c.now = func() time.Time { return time.Unix(0, clock.Add(int64(2*time.Second))) }
	c.mu.Unlock()
	probe := map[int32]int64{0: end[0], 1: end[1], 2: 0}
	for i := 0; ; i++ {
		_, err := c.Fetch(testCtx(t), probe, Limits{MaxWait: 10 * time.Millisecond})
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "has no partition 2") || i > 100000 {
			t.Fatalf("after %d calls: %v", i, err)
		}
	}
	produce(t, cfg, 200, 300, 100)
	from := map[int32]int64{0: end[0], 1: end[1], 2: 0}
	recs, end := drain(t, c, from, Limits{MaxRecords: 100}, true)
	ids(t, recs, 200, 300)
	if len(end) != 3 || len(c.Partitions()) != 3 {
		t.Fatalf("Next %v, partitions %v: want 3", end, c.Partitions())
	}
}

func mustKgo(t testing.TB, brokers []string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestFetchTakesEverythingAvailable: a Fetch without limits returns every
// record the partitions held when it began, however short MaxWait is (a
// one-shot run ingests the whole backlog, not what one wait allowed), and a
// tail of aborted transactions, which is never returned, does not hold it.
func TestFetchTakesEverythingAvailable(t *testing.T) {
	t.Run("backlog", func(t *testing.T) {
		cfg := cfgFor(kafkatest.Start(t, testTopic, 4))
		const n = 100_000
		produce(t, cfg, 0, n, 200)
		c := open(t, cfg)
		b, err := c.Fetch(testCtx(t), nil, Limits{MaxWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ids(t, b.Records, 0, n)
		for p, l := range b.Lag {
			if l != 0 {
				t.Errorf("partition %d: lag %d after a Fetch without limits", p, l)
			}
		}
	})
	t.Run("aborted tail", func(t *testing.T) {
		brokers := kafkatest.Start(t, testTopic, 1)
		ctx := testCtx(t)
		tx, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(testTopic), kgo.TransactionalID("tail"))
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		for _, commit := range []bool{true, false} {
			if err := tx.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			for id := range 100 {
				if err := tx.ProduceSync(ctx, &kgo.Record{Key: []byte(strconv.Itoa(id)), Value: jsonValue(id, 80)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
				t.Fatal(err)
			}
		}
		c := open(t, cfgFor(brokers))
		b, err := c.Fetch(ctx, nil, Limits{MaxWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ids(t, b.Records, 0, 100)
	})
}
