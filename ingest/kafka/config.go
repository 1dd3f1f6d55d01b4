// Package kafka reads a Kafka topic (or an Azure Event Hub through its
// Kafka endpoint) from explicit offsets, for exactly-once ingestion into
// Delta tables.
//
// The consumer never uses consumer groups or Kafka offset commits: the caller
// stores the offsets it has processed in the same Delta commit as the data
// (one txn action per topic partition, version = next offset) and passes them
// back to [Client.Fetch], which resumes exactly there and reports the next
// offsets in [Batch.Next].
package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Start positions for partitions that have no stored offset.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// SASL mechanisms.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// Config is a Kafka (or Event Hubs Kafka endpoint) source, as it appears
// under sources.<name>.kafka in medallion.yaml.
//
// Event Hubs: brokers ["<namespace>.servicebus.windows.net:9093"], topic =
// the event hub name, tls: true, sasl {mechanism: PLAIN, username:
// "$ConnectionString", password_env: <env var holding the connection
// string>}.
type Config struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string `yaml:"brokers"`
	// Topic is the topic (Event Hubs: the event hub) to read.
	Topic string `yaml:"topic"`
	// SASL enables SASL authentication. Secrets come from the environment
	// variable named by password_env, never inline.
	SASL *SASLConfig `yaml:"sasl"`
	// TLS enables TLS with the system root CAs (Event Hubs needs it).
	TLS bool `yaml:"tls"`
	// StartFrom is where partitions without a stored offset start:
	// "earliest" (the default) or "latest". It applies to the partitions
	// the topic has when the Client opens; partitions created later always
	// start at their earliest offset so that nothing written to them is
	// skipped.
	StartFrom string `yaml:"start_from"`

	// rootCAs replaces the system roots when TLS is on; for tests only.
	rootCAs *x509.CertPool
}

// SASLConfig is the SASL part of a [Config].
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (case-insensitive).
	Mechanism string `yaml:"mechanism"`
	// Username is the SASL user; "$ConnectionString" for Event Hubs.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the password
	// (Event Hubs: the connection string).
	PasswordEnv string `yaml:"password_env"`
}

// Validate checks the configuration, including that the password
// environment variable is set. Error messages name the offending field as
// "kafka.<field>"; all problems are reported, joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(c.Brokers) == 0 {
		bad("kafka.brokers: at least one broker")
	}
	eventHubs := false
	for i, b := range c.Brokers {
		host, port, err := net.SplitHostPort(strings.TrimSpace(b))
		if err != nil || host == "" {
			bad("kafka.brokers[%d]: %q is not host:port", i, b)
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad("kafka.brokers[%d]: %q has an invalid port", i, b)
		}
		if strings.HasSuffix(strings.ToLower(host), ".servicebus.windows.net") {
			eventHubs = true
		}
	}

	switch {
	case c.Topic == "":
		bad("kafka.topic: required")
	case len(c.Topic) > 249:
		bad("kafka.topic: %q is longer than 249 characters", c.Topic)
	case c.Topic == "." || c.Topic == "..":
		bad("kafka.topic: %q is not a valid topic name", c.Topic)
	default:
		for _, r := range c.Topic {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
				bad("kafka.topic: %q has %q; topic names use only letters, digits, '.', '_' and '-'", c.Topic, r)
				break
			}
		}
	}

	if s := c.SASL; s != nil {
		switch strings.ToUpper(s.Mechanism) {
		case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		case "":
			bad("kafka.sasl.mechanism: required (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		default:
			bad("kafka.sasl.mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", s.Mechanism)
		}
		if s.Username == "" {
			bad("kafka.sasl.username: required")
		}
		if s.PasswordEnv == "" {
			bad("kafka.sasl.password_env: required (the name of the env var holding the password)")
		} else if v, ok := os.LookupEnv(s.PasswordEnv); !ok {
			bad("kafka.sasl.password_env: env var %s is not set", s.PasswordEnv)
		} else if v == "" {
			bad("kafka.sasl.password_env: env var %s is empty", s.PasswordEnv)
		}
	}
	if eventHubs {
		if !c.TLS {
			bad("kafka.tls: Event Hubs (*.servicebus.windows.net) requires tls: true")
		}
		if c.SASL == nil {
			bad("kafka.sasl: Event Hubs (*.servicebus.windows.net) requires sasl (PLAIN, username \"$ConnectionString\")")
		}
	}

	switch c.StartFrom {
	case "", StartEarliest, StartLatest:
	default:
		bad("kafka.start_from: %q is not \"earliest\" or \"latest\"", c.StartFrom)
	}
	return errors.Join(errs...)
}

// startLatest reports whether partitions without an offset start at the end.
func (c *Config) startLatest() bool { return c.StartFrom == StartLatest }

// clientOpts returns the connection options shared by consumers and producers.
// It expects a validated Config.
func (c *Config) clientOpts() []kgo.Opt {
	brokers := make([]string, len(c.Brokers))
	for i, b := range c.Brokers {
		brokers[i] = strings.TrimSpace(b)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID("medallion"),
	}
	if c.TLS {
		// kgo sets ServerName per broker from its host name.
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: c.rootCAs}))
	}
	if s := c.SASL; s != nil {
		opts = append(opts, kgo.SASL(s.mechanism()))
	}
	return opts
}

func (s *SASLConfig) mechanism() sasl.Mechanism {
	pass := os.Getenv(s.PasswordEnv)
	switch strings.ToUpper(s.Mechanism) {
	case MechanismScramSHA256:
		return scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism()
	case MechanismScramSHA512:
		return scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism()
	default:
		return plain.Auth{User: s.Username, Pass: pass}.AsMechanism()
	}
}
