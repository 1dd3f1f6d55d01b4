// Package blobutil holds what the drivers of package storage share: the
// error type the cloud drivers (azureblob, s3blob, gcsblob) compose, the
// folding of service messages onto one line, the creator IDs of their
// conditional creates, and a reader that stops with its context.
package blobutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Error is an error a driver composed itself: one line with no secret in
// it, optionally wrapping a sentinel of package storage. The SDK's error is
// deliberately not wrapped, so that nothing it carries leaks into messages.
type Error struct {
	Msg      string
	Sentinel error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel, if any.
func (e *Error) Unwrap() error { return e.Sentinel }

// maxMessage is how long a folded message may get.
const maxMessage = 600

// OneLine folds s onto one line, joining its trimmed lines with "; ", and
// cuts it at 600 bytes.
func OneLine(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	out := strings.Join(fields, "; ")
	if len(out) > maxMessage {
		out = out[:maxMessage] + "..."
	}
	return out
}

// FirstLine returns the first non-empty line of s, trimmed.
func FirstLine(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// LastCause returns the first line of the innermost message of an error
// chain, which for the SDKs' credential errors is the reason.
func LastCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return FirstLine(err.Error())
		}
		err = next
	}
}

// ContextError returns the context error err stands for: ctx's own if
// it is done, context.Canceled or context.DeadlineExceeded if err wraps
// one (an SDK's own deadline), nil otherwise. Drivers return it as is,
// so that callers can compare it with ==.
func ContextError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return nil
}

// ContextReader returns a reader that fails with ctx's error once ctx is
// done, so that a copy from r stops between reads.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ReadError reports a failure of the caller's reader during a write: the
// context's error if it is done, the reader's otherwise.
func ReadError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("reading the content to write: %w", err)
}

// CreatorID returns a random ID that a conditional create stores with the
// object, so that when the service reports the object exists the driver
// can tell whether its own earlier, retried attempt created it.
func CreatorID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
