package pipeline

import "fmt"

// Close releases what the process holds open for the project: its Kafka
// clients (a fetch in progress fails) and its engine owners (those with a
// session in progress close when the session does). The project stays
// usable: the next run or session opens them again.
func (p *Project) Close() error {
	closeKafkaClients(p)
	if err := closeOwners(p); err != nil {
		return fmt.Errorf("pipeline: close: %w", err)
	}
	return nil
}
