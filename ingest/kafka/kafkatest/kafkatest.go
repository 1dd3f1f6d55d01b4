// Package kafkatest starts in-process Kafka clusters (franz-go's kfake) that
// listen on 127.0.0.1 over real TCP, for tests and benchmarks of Kafka
// sources. Clusters are closed by t.Cleanup.
package kafkatest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Options configure a test cluster.
type Options struct {
	// Partitions of the seeded topic; default 1.
	Partitions int
	// Brokers in the cluster; default 3 (partition leaders are spread over
	// them, so clients talk to several brokers as with a real cluster).
	Brokers int
	// SASL, when set, requires clients to authenticate as this user.
	SASL *SASL
	// TLS makes the brokers speak TLS with a self-signed certificate for
	// 127.0.0.1; Cluster.RootCAs trusts it.
	TLS bool
}

// SASL is a user the cluster accepts.
type SASL struct {
	Mechanism string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	User      string
	Password  string
}

// Cluster is a running test cluster.
type Cluster struct {
	// Brokers are the listen addresses, host:port on 127.0.0.1.
	Brokers []string
	// RootCAs trusts the brokers' certificate when Options.TLS is set.
	RootCAs *x509.CertPool
	// Kfake is the underlying fake cluster.
	Kfake *kfake.Cluster

	conns *connCounter
}

// Conns returns how many client connections the brokers have accepted so
// far and how many of them are open now (the brokers close a connection
// once its client has closed it).
func (c *Cluster) Conns() (accepted, open int) {
	c.conns.mu.Lock()
	defer c.conns.mu.Unlock()
	return c.conns.accepted, c.conns.open
}

// WaitConns waits until at most max client connections are open, or ctx
// ends (then it returns ctx's error).
func (c *Cluster) WaitConns(ctx context.Context, max int) error {
	for {
		c.conns.mu.Lock()
		open, changed := c.conns.open, c.conns.changed
		c.conns.mu.Unlock()
		if open <= max {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("kafkatest: %d connections still open: %w", open, ctx.Err())
		}
	}
}

// connCounter counts the connections the brokers accept and close.
type connCounter struct {
	mu             sync.Mutex
	accepted, open int
	// changed is closed (and replaced) whenever open changes.
	changed chan struct{}
}

func (cc *connCounter) add(d int) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if d > 0 {
		cc.accepted += d
	}
	cc.open += d
	close(cc.changed)
	cc.changed = make(chan struct{})
}

// listen is a kfake.ListenFn whose listeners count connections.
func (cc *connCounter) listen(network, address string) (net.Listener, error) {
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return &countingListener{Listener: l, cc: cc}, nil
}

type countingListener struct {
	net.Listener
	cc *connCounter
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.cc.add(1)
	return &countingConn{Conn: c, cc: l.cc}, nil
}

type countingConn struct {
	net.Conn
	cc   *connCounter
	once sync.Once
}

func (c *countingConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.cc.add(-1) })
	return err
}

// Start starts a cluster with topic seeded with the given number of
// partitions and returns its brokers.
func Start(t testing.TB, topic string, partitions int) (brokers []string) {
	t.Helper()
	return StartWith(t, topic, Options{Partitions: partitions}).Brokers
}

// StartSASL is Start with SASL authentication required: the cluster accepts
// user/password with mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512).
func StartSASL(t testing.TB, topic string, partitions int, mechanism, user, password string) (brokers []string) {
	t.Helper()
	return StartWith(t, topic, Options{Partitions: partitions, SASL: &SASL{mechanism, user, password}}).Brokers
}

// StartWith starts a cluster configured by o.
func StartWith(t testing.TB, topic string, o Options) *Cluster {
	t.Helper()
	if o.Partitions <= 0 {
		o.Partitions = 1
	}
	if o.Brokers <= 0 {
		o.Brokers = 3
	}
	cc := &connCounter{changed: make(chan struct{})}
	opts := []kfake.Opt{
		kfake.Ports(make([]int, o.Brokers)...), // port 0: any free port
		kfake.ListenFn(cc.listen),
		kfake.SeedTopics(int32(o.Partitions), topic),
	}
	if o.SASL != nil {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(o.SASL.Mechanism, o.SASL.User, o.SASL.Password))
	}
	var roots *x509.CertPool
	if o.TLS {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("kafkatest: certificate: %v", err)
		}
		roots = pool
		opts = append(opts, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kafkatest: start cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return &Cluster{Brokers: c.ListenAddrs(), RootCAs: roots, Kfake: c, conns: cc}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost and a pool
// that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kafkatest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
