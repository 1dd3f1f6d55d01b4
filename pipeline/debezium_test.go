package pipeline_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/ingest/kafka"
	"github.com/medallionhq/medallion/ingest/kafka/kafkatest"
	"github.com/medallionhq/medallion/pipeline"
)

// debeziumKafkaProject is cdcProject with its change source read from a
// Kafka topic of Debezium JSON records instead of files.
func debeziumKafkaProject(brokers []string, topic string) map[string]string {
	p := maps.Clone(cdcProject)
	p["medallion.yaml"] = fmt.Sprintf("name: cdc\nsources:\n  customer_changes:\n    format: json\n    kafka:\n      brokers: [%s]\n      topic: %s\n", strings.Join(brokers, ", "), topic)
	return p
}

// produceChanges sends changes as Debezium JSON records keyed by the row's
// key, as Debezium does (so one key's changes stay in one partition, in
// order); the truncate, which has no key, is keyed "t".
func produceChanges(t *testing.T, brokers []string, topic string, batch int, cs []change) []arrived {
	t.Helper()
	p, err := kafka.NewProducer(t.Context(), kafka.Config{Brokers: brokers, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var out []arrived
	for i, c := range cs {
		key := fmt.Sprint(c.ID)
		if c.Op == "t" {
			key = "t"
		}
		if err := p.Produce(t.Context(), []byte(key), []byte(c.json())); err != nil {
			t.Fatal(err)
		}
		out = append(out, arrived{change: c, file: batch, line: i})
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCDCDebeziumOverKafka: Debezium-style change records (op c/u/r/d and a
// truncate, before/after objects) produced to a three-partition topic of
// the Kafka-protocol test broker over TCP — out of order, with records
// sent again and ties — are ingested by the Kafka source into bronze (in
// runs bounded to a few records, so one batch spans several runs) and
// applied by the SCD 1 and SCD 2 CDC models; after every batch both tables
// equal the reference computation over the records produced so far, and a
// full refresh gives the same tables.
func TestCDCDebeziumOverKafka(t *testing.T) {
	const topic = "dbserver1.shop.customers"
	brokers := kafkatest.Start(t, topic, 3)
	_, proj := writeProject(t, debeziumKafkaProject(brokers, topic))
	var produced []arrived
	for b, cs := range genChanges(7, 4) {
		produced = append(produced, produceChanges(t, brokers, topic, b, cs)...)
		ingested := int64(0)
		for i := 0; ; i++ {
			if i == 100 {
				t.Fatalf("batch %d: not up to date after %d runs", b, i)
			}
			rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{MaxRecords: 15})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range rep.Tables {
				if tr.Error != "" {
					t.Fatalf("batch %d: %s: %s", b, tr.Table, tr.Error)
				}
			}
			tr := tableReport(rep, "bronze.customer_changes")
			if tr.RowsIn > 15 {
				t.Fatalf("a run read %d records, want at most 15", tr.RowsIn)
			}
			ingested += tr.RowsIn
			if tr.Status == pipeline.StatusUpToDate && tr.Pending == 0 {
				break
			}
		}
		if ingested != int64(len(cs)) {
			t.Fatalf("batch %d: ingested %d records, produced %d", b, ingested, len(cs))
		}
		checkCDC(t, proj, produced, fmt.Sprintf("after batch %d", b))
	}
	if got := tableRows(t, proj, "SELECT count(*), count(*) FILTER (WHERE _source_file LIKE 'kafka:"+topic+"/%') FROM bronze.customer_changes"); len(got) != 1 || got[0] != fmt.Sprintf("%d|%d", len(produced), len(produced)) {
		t.Errorf("bronze: %v, want %d records from the topic", got, len(produced))
	}
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{FullRefresh: true}); err != nil {
		t.Fatal(err)
	}
	checkCDC(t, proj, produced, "after a full refresh")
}
