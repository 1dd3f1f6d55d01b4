package delta

import (
	"context"
	"sync"
)

// Background checkpoints.
//
// A commit that makes a checkpoint due (every delta.checkpointInterval
// versions) returns as soon as its commit file exists; the checkpoint of
// that version is then written by a goroutine of the same process, with the
// committing call's context values but not its cancellation. One table
// writes one checkpoint at a time: a checkpoint that falls due while another
// is being written waits, and a newer due one replaces it (a checkpoint is
// only a shortcut for readers; the newest is the one worth writing). So a
// commit never waits for a checkpoint, and a burst of commits costs at most
// one checkpoint in flight and one queued per table.
//
// A process that stops before its checkpoint is written (kill -9, or an exit
// that does not call WaitCheckpoints) leaves the table as it was before that
// checkpoint: readers start from the previous checkpoint (the one
// _last_checkpoint names, or a listed one) and replay more commits. The
// checkpoint and _last_checkpoint are written atomically, in that order, so
// no reader ever sees a partial one. Options.SyncCheckpoints restores the
// checkpoint written inside the commit.

// bgState is a table's background checkpoint queue; Table.mu guards it.
type bgState struct {
	running bool
	pending *Snapshot
	pctx    context.Context
	idle    chan struct{} // closed when the queue drains; nil while idle
}

// inflight counts the background checkpoints of the whole process, for
// WaitCheckpoints.
var inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while n == 0
}

// checkpointHook, when set (tests only), is called by the background
// writer at each stage of a checkpoint: "start" before anything is written,
// "written" after the checkpoint file and before _last_checkpoint.
var checkpointHook func(version int64, stage string)

// scheduleCheckpoint queues snap's checkpoint for the background writer,
// starting it when the table has none running.
func (t *Table) scheduleCheckpoint(ctx context.Context, snap *Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bg.pending != nil && t.bg.pending.version >= snap.version {
		return
	}
	t.bg.pending, t.bg.pctx = snap, context.WithoutCancel(ctx)
	if t.bg.running {
		return
	}
	t.bg.running = true
	t.bg.idle = make(chan struct{})
	inflight.mu.Lock()
	if inflight.n == 0 {
		inflight.idle = make(chan struct{})
	}
	inflight.n++
	inflight.mu.Unlock()
	go t.checkpointLoop()
}

// checkpointLoop writes queued checkpoints until the queue is empty.
func (t *Table) checkpointLoop() {
	for {
		t.mu.Lock()
		snap, ctx := t.bg.pending, t.bg.pctx
		t.bg.pending, t.bg.pctx = nil, nil
		if snap == nil {
			t.bg.running = false
			close(t.bg.idle)
			t.bg.idle = nil
			t.mu.Unlock()
			inflight.mu.Lock()
			if inflight.n--; inflight.n == 0 {
				close(inflight.idle)
				inflight.idle = nil
			}
			inflight.mu.Unlock()
			return
		}
		t.mu.Unlock()
		if err := t.checkpoint(ctx, snap, checkpointHook); err != nil {
			t.opts.Logger.Warn("delta: checkpoint failed after commit", "table", t.store.URL(), "version", snap.version, "err", err)
		}
	}
}

// WaitCheckpoint waits until the table's background checkpoints, queued by
// this handle's commits, are written (or have failed: failures are logged,
// as the commits they follow have succeeded). It returns ctx's error if ctx
// ends first.
func (t *Table) WaitCheckpoint(ctx context.Context) error {
	t.mu.Lock()
	idle := t.bg.idle
	t.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitCheckpoints waits until every background checkpoint of the process is
// written, for a process about to exit: without it a checkpoint still being
// written when the process ends is simply not there (readers then start
// from the previous one). It returns ctx's error if ctx ends first.
func WaitCheckpoints(ctx context.Context) error {
	for {
		inflight.mu.Lock()
		idle := inflight.idle
		inflight.mu.Unlock()
		if idle == nil {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
