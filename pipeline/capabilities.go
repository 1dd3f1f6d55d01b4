package pipeline

import "github.com/medallionhq/medallion/engine"

// capabilities are those of the project's engine kind (see
// engine.Capabilities): the pipeline asks them instead of testing kinds.
func (p *Project) capabilities() engine.Capabilities {
	return engine.CapabilitiesOf(p.Config.Engine.Kind)
}
