package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/medallionhq/medallion/ingest/notify"
)

// newHubWatcher wakes the stream when the queues of the sources with
// listing: notifications bring files: it receives in the background
// (long polls of up to a second) until close.
func newHubWatcher(ctx context.Context, hub *notify.Hub, log func(string)) *watcher {
	w := &watcher{wake: make(chan struct{}, 1), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		<-w.done
		cancel()
	}()
	go func() {
		var lastErr string
		for ctx.Err() == nil {
			n, err := hub.Receive(ctx, time.Second)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if err.Error() != lastErr {
					log(fmt.Sprintf("stream: %v (retrying; the backfill listing catches what is missed)", err))
					lastErr = err.Error()
				}
				_ = sleep(ctx, time.Second)
				continue
			}
			lastErr = ""
			if n > 0 {
				select {
				case w.wake <- struct{}{}:
				default:
				}
			}
		}
	}()
	return w
}
