package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/medallionhq/medallion/datagen"
)

// replayFlags are generate's flags that replay change into a landing zone
// already written: customers moving, orders advancing through statuses.
type replayFlags struct {
	moveCustomers         float64
	advanceTo, ordersFrom string
}

// replayTimeLayouts are the forms --advance-orders-to takes.
var replayTimeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", time.DateTime, time.DateOnly}

// parseReplayTime reads --advance-orders-to; a time without a zone is UTC
// (the generated timestamps have none).
func parseReplayTime(s string) (time.Time, error) {
	for _, l := range replayTimeLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("generate: --advance-orders-to %q: want a time as 2006-01-02, 2006-01-02T15:04:05 or RFC 3339", s)
}

// generateReplay runs --move-customers and --advance-orders-to.
func (a *app) generateReplay(cmd *cobra.Command, out string, seed int64, rf replayFlags) error {
	ctx := cmd.Context()
	for _, f := range []string{"stream", "dirty", "orders"} {
		if cmd.Flags().Changed(f) {
			return fmt.Errorf("generate: --%s does not go with --move-customers or --advance-orders-to (they change a landing zone already written)", f)
		}
	}
	if cmd.Flags().Changed("move-customers") {
		if rf.moveCustomers <= 0 || rf.moveCustomers > 1 {
			return fmt.Errorf("generate: --move-customers %v: want a share of the customers, more than 0 and at most 1", rf.moveCustomers)
		}
		moved, err := datagen.MoveCustomers(ctx, out, rf.moveCustomers, seed, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "moved %d customers in %s/%s\n", moved, out, datagen.SourceCustomers)
	}
	if rf.advanceTo != "" {
		if rf.ordersFrom == "" {
			return errors.New("generate: --advance-orders-to needs --orders-from SRC, the landing directory generate wrote the orders into")
		}
		at, err := parseReplayTime(rf.advanceTo)
		if err != nil {
			return err
		}
		name := "as_of_" + at.Format("20060102T150405")
		n, err := datagen.AdvanceOrders(ctx, rf.ordersFrom, out, at, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "wrote %d orders as of %s to %s/%s/%s.csv\n", n, at.Format(time.DateTime), out, datagen.SourceOrders, name)
	} else if rf.ordersFrom != "" {
		return errors.New("generate: --orders-from goes with --advance-orders-to")
	}
	return nil
}
