package goldref

import (
	"context"
	"slices"
	"strconv"
	"time"
)

// order is one order after dedup and cleaning. Missing or unparseable
// timestamps have the zero time.
type order struct {
	id, customerID, status         string
	purchase, delivered, estimated time.Time
}

// date is the order's purchase date as "2006-01-02", or "" (NULL) when the
// purchase timestamp is missing or unparseable.
func (o *order) date() string {
	if o.purchase.IsZero() {
		return ""
	}
	return o.purchase.Format(time.DateOnly)
}

type item struct {
	orderID, itemID, productID, sellerID string
	revenue                              float64 // price + freight_value
}

type customer struct {
	id, uniqueID, city, state string
}

type payment struct {
	orderID, seq, paymentType string
	installments              bool // payment_installments > 1
}

type review struct {
	id, orderID string
	score       int64
	hasScore    bool
}

// data is the cleaned landing zone. items, payments and reviews hold only
// rows of orders that have landed, sorted by key.
type data struct {
	orders      map[string]*order
	orderIDs    []string // sorted
	items       []*item
	itemsOf     map[string][]*item // by order_id
	customers   map[string]*customer
	productCat  map[string]string // product_id -> product_category_name ("" if missing)
	translation map[string]string // Portuguese -> English (non-empty only)
	sellerCity  map[string]string // seller_id -> seller_city (trimmed, may be "")
	payments    []*payment
	reviews     []*review
}

// key joins a composite key; the parts never hold a NUL.
func key(parts ...string) string {
	k := ""
	for i, p := range parts {
		if i > 0 {
			k += "\x00"
		}
		k += p
	}
	return k
}

// load reads and cleans every source. For each keyed source, rows with an
// empty key (any part of it) are ignored and, among rows with the same key,
// the last one in file order wins.
func load(ctx context.Context, dir string) (*data, error) {
	d := &data{
		orders:      map[string]*order{},
		itemsOf:     map[string][]*item{},
		customers:   map[string]*customer{},
		productCat:  map[string]string{},
		translation: map[string]string{},
		sellerCity:  map[string]string{},
	}

	err := readSource(ctx, dir, srcOrders, []string{"order_id"}, func(r row) error {
		o := &order{
			id:         r.get("order_id"),
			customerID: r.get("customer_id"),
			status:     r.get("order_status"),
		}
		if o.id == "" {
			return nil
		}
		if o.status == "" {
			o.status = "unavailable"
		}
		o.purchase, _ = parseTime(r.get("order_purchase_timestamp"))
		o.delivered, _ = parseTime(r.get("order_delivered_customer_date"))
		o.estimated, _ = parseTime(r.get("order_estimated_delivery_date"))
		d.orders[o.id] = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id := range d.orders {
		d.orderIDs = append(d.orderIDs, id)
	}
	slices.Sort(d.orderIDs)

	items := map[string]*item{}
	err = readSource(ctx, dir, srcItems, []string{"order_id", "order_item_id"}, func(r row) error {
		it := &item{
			orderID:   r.get("order_id"),
			itemID:    r.get("order_item_id"),
			productID: r.get("product_id"),
			sellerID:  r.get("seller_id"),
			revenue:   parseMoney(r.get("price")) + parseMoney(r.get("freight_value")),
		}
		if it.orderID == "" || it.itemID == "" {
			return nil
		}
		items[key(it.orderID, it.itemID)] = it
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(items) {
		it := items[k]
		if d.orders[it.orderID] == nil {
			continue // the order has not landed
		}
		d.items = append(d.items, it)
		d.itemsOf[it.orderID] = append(d.itemsOf[it.orderID], it)
	}

	err = readSource(ctx, dir, srcCustomers, []string{"customer_id"}, func(r row) error {
		c := &customer{
			id:       r.get("customer_id"),
			uniqueID: r.get("customer_unique_id"),
			city:     normalizeCity(r.get("customer_city")),
			state:    r.get("customer_state"),
		}
		if c.id != "" {
			d.customers[c.id] = c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	payments := map[string]*payment{}
	err = readSource(ctx, dir, srcPayments, []string{"order_id", "payment_sequential"}, func(r row) error {
		p := &payment{
			orderID:     r.get("order_id"),
			seq:         r.get("payment_sequential"),
			paymentType: r.get("payment_type"),
		}
		if p.orderID == "" || p.seq == "" {
			return nil
		}
		if p.paymentType == "boleto" {
			p.paymentType = "cash"
		}
		// Missing or unparseable installments count as one-time.
		if n, err := strconv.ParseFloat(r.get("payment_installments"), 64); err == nil && n > 1 {
			p.installments = true
		}
		payments[key(p.orderID, p.seq)] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(payments) {
		if p := payments[k]; d.orders[p.orderID] != nil {
			d.payments = append(d.payments, p)
		}
	}

	err = readSource(ctx, dir, srcProducts, []string{"product_id"}, func(r row) error {
		id, cat := r.get("product_id"), r.get("product_category_name")
		if id == "" {
			return nil
		}
		d.productCat[id] = cat // "" = no category
		return nil
	})
	if err != nil {
		return nil, err
	}

	err = readSource(ctx, dir, srcTranslation, []string{"product_category_name"}, func(r row) error {
		pt, en := r.get("product_category_name"), r.get("product_category_name_english")
		if pt == "" {
			return nil
		}
		if en == "" {
			delete(d.translation, pt) // the last row wins: no translation
		} else {
			d.translation[pt] = en
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	err = readSource(ctx, dir, srcSellers, []string{"seller_id"}, func(r row) error {
		id := r.get("seller_id")
		if id == "" {
			return nil
		}
		d.sellerCity[id] = r.get("seller_city")
		return nil
	})
	if err != nil {
		return nil, err
	}

	reviews := map[string]*review{}
	err = readSource(ctx, dir, srcReviews, []string{"review_id", "order_id"}, func(r row) error {
		rv := &review{id: r.get("review_id"), orderID: r.get("order_id")}
		if rv.id == "" || rv.orderID == "" {
			return nil
		}
		if n, err := strconv.ParseInt(r.get("review_score"), 10, 64); err == nil {
			rv.score, rv.hasScore = n, true
		}
		reviews[key(rv.id, rv.orderID)] = rv
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(reviews) {
		if rv := reviews[k]; d.orders[rv.orderID] != nil {
			d.reviews = append(d.reviews, rv)
		}
	}
	return d, nil
}

// category is the product's English category name; the Portuguese name
// when the translation file has none; 'unknown' when the product has no
// category or is not in the products file.
func (d *data) category(productID string) string {
	pt, ok := d.productCat[productID]
	if !ok || pt == "" {
		return "unknown"
	}
	if en, ok := d.translation[pt]; ok {
		return en
	}
	return pt
}

// customerOf returns the order's customer, nil when unknown.
func (d *data) customerOf(o *order) *customer {
	return d.customers[o.customerID]
}

// person returns the order's customer_unique_id, "" (NULL) when the
// customer is unknown or has no customer_unique_id.
func (d *data) person(o *order) string {
	if c := d.customerOf(o); c != nil {
		return c.uniqueID
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
