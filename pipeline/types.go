package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/medallionhq/medallion/delta"
)

// parseTypeName parses a schema hint: string, long, integer, double,
// boolean, date, timestamp, decimal(p,s).
func parseTypeName(s string) (delta.DataType, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	switch n {
	case "string", "long", "integer", "double", "boolean", "date", "timestamp", "float", "short", "byte", "binary":
		return delta.Primitive(n), nil
	case "int":
		return delta.Primitive(delta.TypeInteger), nil
	case "bigint":
		return delta.Primitive(delta.TypeLong), nil
	}
	if rest, ok := strings.CutPrefix(n, "decimal("); ok && strings.HasSuffix(rest, ")") {
		p, sc, ok := strings.Cut(strings.TrimSuffix(rest, ")"), ",")
		if ok {
			prec, err1 := strconv.Atoi(strings.TrimSpace(p))
			scale, err2 := strconv.Atoi(strings.TrimSpace(sc))
			if err1 == nil && err2 == nil && prec > 0 && prec <= 38 && scale >= 0 && scale <= prec {
				return delta.Decimal(prec, scale), nil
			}
		}
	}
	return delta.DataType{}, fmt.Errorf("unknown type %q (string, long, integer, double, boolean, date, timestamp, decimal(p,s))", s)
}
