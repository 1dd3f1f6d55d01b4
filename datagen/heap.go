package datagen

// heapEntry is an element of a minHeap: its order keys are held next to
// the value, so that heap operations compare without chasing pointers.
type heapEntry[T any] struct {
	key int64
	seq uint64
	val T
}

// minHeap is a binary min-heap by (key, seq). Unlike container/heap it
// holds its entries by value, so pushing allocates nothing once the
// backing array has grown.
type minHeap[T any] struct {
	items []heapEntry[T]
}

func (h *minHeap[T]) len() int { return len(h.items) }

// top returns the smallest entry; its key may be raised, then fixTop
// called.
func (h *minHeap[T]) top() *heapEntry[T] { return &h.items[0] }

func (h *minHeap[T]) less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	return a.key < b.key || a.key == b.key && a.seq < b.seq
}

func (h *minHeap[T]) push(key int64, seq uint64, val T) {
	h.items = append(h.items, heapEntry[T]{key: key, seq: seq, val: val})
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

// pop removes the smallest entry and returns its value.
func (h *minHeap[T]) pop() T {
	top := h.items[0].val
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	h.items[n] = heapEntry[T]{} // drop references held by the slot
	h.items = h.items[:n]
	h.fixTop()
	return top
}

// fixTop restores the order after the smallest entry's key grew.
func (h *minHeap[T]) fixTop() {
	n := len(h.items)
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}
