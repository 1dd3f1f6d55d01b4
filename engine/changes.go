package engine

// ChangeSpec says how ApplyChanges turns change rows into the rows of a
// change data capture table (a CDC model, as Lakeflow's AUTO CDC).
//
// The changes of a key are ordered by Sequence (its columns compared left
// to right); at equal sequence values a delete comes after an upsert, then
// rows that arrived later (Arrival, NULLs first) after earlier ones; of the
// changes of a key with equal sequence values only the last counts (so a
// delete beats an upsert, and a change landed twice counts once). A
// truncate is a delete of every key as of its sequence value.
//
// SCD 1: a key's row is its last change, unless that is a delete; the rows
// have the Columns. SCD 2: an upsert opens a new version when the key has
// no open row or a Tracked column changed; otherwise it updates the open
// row in place. The rows have the Columns, then StartAt (the first
// Sequence[0] value of the upserts of the version) and EndAt (that of the
// change that closed it: the next version's upsert, or a delete; NULL for
// the open row).
type ChangeSpec struct {
	// SCD is 1 or 2.
	SCD int
	// Keys identify a row; Sequence orders a key's changes; Arrival breaks
	// ties between equal sequence values (ingestion order).
	Keys, Sequence, Arrival []string
	// Columns are the table's columns (keys included), in order.
	Columns []string
	// Tracked (SCD 2) are the columns whose change opens a new version.
	Tracked []string
	// Delete and Truncate are SQL conditions over a change row that make
	// it a delete of its key, or of every key; "" is never.
	Delete, Truncate string
	// StartAt and EndAt name the SCD 2 version columns.
	StartAt, EndAt string
}
