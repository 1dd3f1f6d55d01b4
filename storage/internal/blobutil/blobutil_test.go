package blobutil_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/storage/internal/blobutil"
)

func TestOneLineAndFirstLine(t *testing.T) {
	tests := []struct {
		in, oneLine, firstLine string
	}{
		{"plain", "plain", "plain"},
		{"\n  first \r\n second\n", "first; second", "first"},
		{strings.Repeat("x", 700), strings.Repeat("x", 600) + "...", strings.Repeat("x", 700)},
		{"", "", ""},
	}
	for _, tc := range tests {
		if got := blobutil.OneLine(tc.in); got != tc.oneLine {
			t.Errorf("OneLine(%q) = %q, want %q", tc.in, got, tc.oneLine)
		}
		if got := blobutil.FirstLine(tc.in); got != tc.firstLine {
			t.Errorf("FirstLine(%q) = %q, want %q", tc.in, got, tc.firstLine)
		}
	}
}

func TestErrorUnwrapsSentinelOnly(t *testing.T) {
	sentinel := errors.New("not found")
	err := &blobutil.Error{Msg: "not found: key", Sentinel: sentinel}
	if !errors.Is(err, sentinel) || err.Error() != "not found: key" {
		t.Fatalf("got %v, is sentinel %v", err, errors.Is(err, sentinel))
	}
	if cause := blobutil.LastCause(fmt.Errorf("outer: %w", fmt.Errorf("mid: %w", errors.New("root\nmore")))); cause != "root" {
		t.Fatalf("LastCause = %q, want root", cause)
	}
}

func TestContextReaderStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := blobutil.ContextReader(ctx, strings.NewReader("abc"))
	buf := make([]byte, 1)
	if n, err := r.Read(buf); n != 1 || err != nil {
		t.Fatalf("read before cancel: %d, %v", n, err)
	}
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
	if err := blobutil.ReadError(ctx, io.ErrUnexpectedEOF); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadError with a done context = %v", err)
	}
	if err := blobutil.ReadError(context.Background(), io.ErrUnexpectedEOF); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadError = %v, want the reader's error wrapped", err)
	}
}

func TestCreatorIDsDiffer(t *testing.T) {
	a, err := blobutil.CreatorID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := blobutil.CreatorID()
	if len(a) != 32 || a == b {
		t.Fatalf("CreatorID: %q, %q", a, b)
	}
}

func TestContextError(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	sdkTimeout := fmt.Errorf("operation error: %w", context.DeadlineExceeded)
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"caller's context done", done, errors.New("HTTP 500"), context.Canceled},
		{"SDK deadline", context.Background(), sdkTimeout, context.DeadlineExceeded},
		{"SDK cancellation", context.Background(), fmt.Errorf("send: %w", context.Canceled), context.Canceled},
		{"service error", context.Background(), errors.New("HTTP 403"), nil},
	}
	for _, tc := range tests {
		if got := blobutil.ContextError(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: ContextError = %v, want %v", tc.name, got, tc.want)
		}
	}
}
