package delta

// SetCheckpointHook installs the background checkpoint writer's test hook:
// h is called at each stage of a checkpoint ("start" before anything is
// written, "written" after the checkpoint file and before _last_checkpoint).
// nil removes it.
func SetCheckpointHook(h func(version int64, stage string)) { checkpointHook = h }
