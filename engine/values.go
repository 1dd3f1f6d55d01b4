package engine

import "strconv"

// Int64 is a whole number an engine returned (a count, a version, a row
// number) as int64, whatever Go type the driver gave it: signed and
// unsigned integers, a float, or decimal text. Anything else is 0.
func Int64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint64:
		return int64(x)
	case uint32:
		return int64(x)
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}
