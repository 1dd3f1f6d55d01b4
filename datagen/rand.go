package datagen

import (
	"math/bits"
	"sort"
)

// The generator uses its own small PRNG and integer arithmetic only, so the
// output for a seed does not depend on the Go version (math/rand streams) or
// on the CPU (floating-point fusion), only on this code.

// mix64 is the splitmix64 finalizer: a bijection on uint64.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// rng is xoshiro256**, seeded through splitmix64 from (seed, stream).
type rng struct{ s0, s1, s2, s3 uint64 }

// Stream identifiers: each concern draws from its own stream, so that dirt
// injection (its own stream) never shifts the clean data.
const (
	streamTimes uint64 = iota + 1
	streamOrders
	streamCustomers
	streamItems
	streamPayments
	streamReviews
	streamCatalog
	streamGeo
	streamDirt
)

func newRNG(seed int64, stream uint64) *rng {
	x := uint64(seed) ^ (stream * 0x9e3779b97f4a7c15)
	next := func() uint64 {
		x += 0x9e3779b97f4a7c15
		return mix64(x)
	}
	r := &rng{next(), next(), next(), next()}
	if r.s0|r.s1|r.s2|r.s3 == 0 {
		r.s0 = 1
	}
	return r
}

func (r *rng) next() uint64 {
	result := bits.RotateLeft64(r.s1*5, 7) * 9
	t := r.s1 << 17
	r.s2 ^= r.s0
	r.s3 ^= r.s1
	r.s1 ^= r.s2
	r.s0 ^= r.s3
	r.s2 ^= t
	r.s3 = bits.RotateLeft64(r.s3, 45)
	return result
}

// intn returns a value in [0, n); n must be > 0.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// ppm reports true with probability p/1,000,000.
func (r *rng) ppm(p int) bool { return r.intn(1_000_000) < p }

// skewed returns a value in [0, n) skewed towards 0 (product of two uniforms).
func (r *rng) skewed(n int) int { return r.intn(n) * r.intn(n) / n }

// picker draws an index with probability proportional to integer weights.
type picker struct {
	cum   []int
	total int
}

func newPicker(w []int) picker {
	p := picker{cum: make([]int, len(w))}
	for i, x := range w {
		p.total += x
		p.cum[i] = p.total
	}
	if p.total <= 0 {
		panic("datagen: picker with no weight")
	}
	return p
}

func (p picker) pick(r *rng) int {
	x := r.intn(p.total)
	return sort.Search(len(p.cum), func(i int) bool { return p.cum[i] > x })
}

// Kinds of identifiers; (kind, index) maps injectively to an id.
const (
	idOrder uint64 = iota + 1
	idCustomer
	idUnique
	idProduct
	idSeller
	idReview
	idJunk
)

// idGen turns (kind, index) into a 128-bit id printed as 32 lowercase hex
// digits, like Olist's MD5-looking ids. The high half is a bijection of an
// injective input, so ids of one run never collide.
type idGen struct{ key uint64 }

func newIDGen(seed int64) idGen { return idGen{key: mix64(uint64(seed)^0x6f6c697374) << 8} }

func (g idGen) id(kind, idx uint64) [2]uint64 {
	in := (kind<<52 | idx) ^ g.key
	return [2]uint64{mix64(in), mix64(in ^ 0x5851f42d4c957f2d)}
}

const hexDigits = "0123456789abcdef"

func appendID(b []byte, id [2]uint64) []byte {
	var buf [32]byte
	for h := 0; h < 2; h++ {
		v := id[h]
		for i := 15; i >= 0; i-- {
			buf[h*16+i] = hexDigits[v&15]
			v >>= 4
		}
	}
	return append(b, buf[:]...)
}
