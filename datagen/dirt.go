package datagen

import "strings"

// Dirt counts the dirt injected into one source (or, summed, into a run).
// Extra rows (Duplicates, NullKeys, Malformed, Relanded) are added next to
// the clean rows, which all stay in place; the other kinds change values of
// a clean row in place.
type Dirt struct {
	// Duplicates are exact copies of a row, written right after it
	// (orders, order_items, customers).
	Duplicates int
	// NullKeys are extra copies of a row with an empty order_id (orders,
	// order_items, payments).
	NullKeys int
	// Malformed are extra rows that do not parse strictly: the wrong number
	// of fields, or a bare (unbalanced) quote inside the unquoted id field.
	// Their ids are fresh, so they collide with no real row (orders,
	// order_items).
	Malformed int
	// WrongTypes are values of the wrong type, in place: a timestamp
	// "not-a-date" in orders, price "abc" in order_items, a review_score
	// spelled out ("five") in reviews.
	WrongTypes int
	// Nulls are values emptied in place: order_status (orders), price or
	// freight_value (order_items), product_category_name (products).
	Nulls int
	// CityVariants are city names respelled in place: upper case, extra
	// spaces, or accents dropped (customers, sellers, geolocation). Clean
	// geolocation already mixes accented and unaccented spellings, as Olist
	// does; those are not counted.
	CityVariants int
	// Relanded are orders written again, with a newer status, into a later
	// month's file; their first row (in the purchase month's file) carries
	// an earlier status (shipped instead of delivered, ...). The later row is
	// the order's final state: an upsert by order_id gives the clean data.
	Relanded int
}

// Total is the number of dirty rows and values.
func (d Dirt) Total() int {
	return d.Duplicates + d.NullKeys + d.Malformed + d.WrongTypes + d.Nulls + d.CityVariants + d.Relanded
}

func (d *Dirt) add(o Dirt) {
	d.Duplicates += o.Duplicates
	d.NullKeys += o.NullKeys
	d.Malformed += o.Malformed
	d.WrongTypes += o.WrongTypes
	d.Nulls += o.Nulls
	d.CityVariants += o.CityVariants
	d.Relanded += o.Relanded
}

type dirtKind uint8

const (
	dNone dirtKind = iota
	dDup
	dNullKey
	dMalFields
	dMalQuote
	dWrongType
	dNull
	dCity
	dRelanded
)

type rate struct {
	kind dirtKind
	ppm  int
}

// injector decides, row by row, which dirt (if any) a source's row gets.
// Each kind is forced once early (at a random row among the first few), so
// that even a small dirty run holds every kind; after that rows draw at the
// kind's rate.
type injector struct {
	on     bool
	r      *rng
	rates  []rate
	forced []int
	hit    []bool
	n      int
	dirt   *Dirt
}

func newInjector(on bool, seed int64, src int, expectedRows int, dirt *Dirt, rates ...rate) *injector {
	in := &injector{on: on, dirt: dirt, rates: rates}
	if !on {
		return in
	}
	in.r = newRNG(seed, streamDirt<<8|uint64(src))
	in.hit = make([]bool, len(rates))
	in.forced = make([]int, len(rates))
	window := max(1, min(expectedRows/2, 100))
	for i := range rates {
		in.forced[i] = in.r.intn(window)
	}
	return in
}

// next returns the dirt for the next row. When the caller cannot apply it
// (the row is not eligible) it does not call done, and a forced kind is
// tried again on the following row.
func (in *injector) next() dirtKind {
	if !in.on {
		return dNone
	}
	i := in.n
	in.n++
	for k, rt := range in.rates {
		if !in.hit[k] && i >= in.forced[k] {
			return rt.kind
		}
	}
	x := in.r.intn(1_000_000)
	for _, rt := range in.rates {
		if x < rt.ppm {
			return rt.kind
		}
		x -= rt.ppm
	}
	return dNone
}

// done records that kind k was applied.
func (in *injector) done(k dirtKind) {
	for i, rt := range in.rates {
		if rt.kind == k {
			in.hit[i] = true
		}
	}
	switch k {
	case dDup:
		in.dirt.Duplicates++
	case dNullKey:
		in.dirt.NullKeys++
	case dMalFields, dMalQuote:
		in.dirt.Malformed++
	case dWrongType:
		in.dirt.WrongTypes++
	case dNull:
		in.dirt.Nulls++
	case dCity:
		in.dirt.CityVariants++
	case dRelanded:
		in.dirt.Relanded++
	}
}

// cityVariant respells a city name: upper case, extra spaces, or without
// accents.
func cityVariant(r *rng, c *cityInfo) string {
	n := 2
	if c.accented {
		n = 3
	}
	switch r.intn(n) {
	case 0:
		return c.upper
	case 1:
		switch r.intn(3) {
		case 0:
			return " " + c.name
		case 1:
			return c.name + "  "
		default:
			if i := strings.IndexByte(c.name, ' '); i > 0 {
				return c.name[:i] + "  " + c.name[i+1:]
			}
			return "  " + c.name + " "
		}
	default:
		return c.plain
	}
}

var scoreWords = [...]string{"zero", "one", "two", "three", "four", "five"}
