package datagen

import "slices"

// category is an Olist product category: its Portuguese name, its English
// translation ("" = missing from the translation file, as two are in Olist),
// its weight in the catalogue and its median price in reais.
type category struct {
	pt, en string
	w      int
	median int
}

var categories = []category{
	{"cama_mesa_banho", "bed_bath_table", 3029, 80},
	{"esporte_lazer", "sports_leisure", 2867, 80},
	{"moveis_decoracao", "furniture_decor", 2657, 70},
	{"beleza_saude", "health_beauty", 2444, 90},
	{"utilidades_domesticas", "housewares", 2335, 60},
	{"automotivo", "auto", 1900, 70},
	{"informatica_acessorios", "computers_accessories", 1639, 70},
	{"brinquedos", "toys", 1411, 80},
	{"relogios_presentes", "watches_gifts", 1329, 150},
	{"telefonia", "telephony", 1134, 40},
	{"bebes", "baby", 919, 80},
	{"perfumaria", "perfumery", 868, 80},
	{"fashion_bolsas_e_acessorios", "fashion_bags_accessories", 849, 40},
	{"papelaria", "stationery", 849, 60},
	{"cool_stuff", "cool_stuff", 789, 120},
	{"ferramentas_jardim", "garden_tools", 753, 70},
	{"pet_shop", "pet_shop", 719, 60},
	{"eletronicos", "electronics", 517, 40},
	{"construcao_ferramentas_construcao", "construction_tools_construction", 400, 90},
	{"eletrodomesticos", "home_appliances", 370, 60},
	{"malas_acessorios", "luggage_accessories", 349, 120},
	{"consoles_games", "consoles_games", 317, 70},
	{"moveis_escritorio", "office_furniture", 309, 150},
	{"instrumentos_musicais", "musical_instruments", 289, 150},
	{"eletroportateis", "small_appliances", 231, 170},
	{"casa_construcao", "home_construction", 225, 80},
	{"livros_interesse_geral", "books_general_interest", 216, 40},
	{"fashion_calcados", "fashion_shoes", 173, 80},
	{"moveis_sala", "furniture_living_room", 156, 100},
	{"artigos_de_natal", "christmas_supplies", 128, 40},
	{"climatizacao", "air_conditioning", 124, 90},
	{"livros_tecnicos", "books_technical", 123, 60},
	{"telefonia_fixa", "fixed_telephony", 116, 90},
	{"casa_conforto", "home_confort", 111, 90},
	{"market_place", "market_place", 104, 70},
	{"alimentos_bebidas", "food_drink", 104, 40},
	{"fashion_roupa_masculina", "fashion_male_clothing", 95, 70},
	{"moveis_cozinha_area_de_servico_jantar_e_jardim", "kitchen_dining_laundry_garden_furniture", 94, 110},
	{"sinalizacao_e_seguranca", "signaling_and_security", 93, 60},
	{"construcao_ferramentas_seguranca", "construction_tools_safety", 91, 110},
	{"eletrodomesticos_2", "home_appliances_2", 90, 300},
	{"construcao_ferramentas_jardim", "costruction_tools_garden", 88, 90},
	{"alimentos", "food", 82, 40},
	{"bebidas", "drinks", 81, 40},
	{"construcao_ferramentas_iluminacao", "construction_tools_lights", 78, 80},
	{"agro_industria_e_comercio", "agro_industry_and_commerce", 74, 150},
	{"industria_comercio_e_negocios", "industry_commerce_and_business", 68, 100},
	{"audio", "audio", 58, 80},
	{"artes", "art", 55, 60},
	{"fashion_underwear_e_moda_praia", "fashion_underwear_beach", 53, 50},
	{"dvds_blu_ray", "dvds_blu_ray", 48, 40},
	{"moveis_quarto", "furniture_bedroom", 45, 120},
	{"construcao_ferramentas_ferramentas", "costruction_tools_tools", 39, 100},
	{"fashion_roupa_feminina", "fashio_female_clothing", 33, 50},
	{"portateis_casa_forno_e_cafe", "small_appliances_home_oven_and_coffee", 31, 400},
	{"livros_importados", "books_imported", 31, 60},
	{"cine_foto", "cine_photo", 28, 60},
	{"musica", "music", 27, 90},
	{"artigos_de_festas", "party_supplies", 26, 40},
	{"fashion_esporte", "fashion_sport", 19, 50},
	{"artes_e_artesanato", "arts_and_craftmanship", 19, 50},
	{"flores", "flowers", 14, 30},
	{"fraldas_higiene", "diapers_and_hygiene", 12, 30},
	{"moveis_colchao_e_estofado", "furniture_mattress_and_upholstery", 10, 100},
	{"la_cuisine", "la_cuisine", 10, 100},
	{"tablets_impressao_imagem", "tablets_printing_image", 9, 70},
	{"pcs", "computers", 203, 900},
	{"casa_conforto_2", "home_comfort_2", 5, 30},
	{"fashion_roupa_infanto_juvenil", "fashion_childrens_clothes", 5, 50},
	{"seguros_e_servicos", "security_and_services", 2, 200},
	{"cds_dvds_musicais", "cds_dvds_musicals", 1, 50},
	{"pc_gamer", "", 3, 200},
	{"portateis_cozinha_e_preparadores_de_alimentos", "", 10, 150},
}

// priceSpread holds 32 quantiles of a log-normal (σ = 0.75) in thousandths:
// the multiplier of a category's median price.
var priceSpread = [32]int{
	199, 285, 345, 398, 446, 492, 536, 581, 625, 670, 716, 763, 812, 863, 915, 971,
	1030, 1092, 1159, 1232, 1310, 1396, 1492, 1599, 1722, 1864, 2034, 2244, 2515, 2896, 3515, 5030,
}

// product of the catalogue.
type product struct {
	cat      int // index into categories, -1 = no category
	seller   int32
	price    int32 // cents
	weight   int32 // grams
	nameLen  int16
	descLen  int16
	photos   int8
	l, h, wd int16 // cm
}

// newProducts draws n products; each is sold by one seller (skewed: a few
// sellers have many products).
func newProducts(r *rng, n, nSellers int) []product {
	w := make([]int, len(categories))
	for i, c := range categories {
		w[i] = c.w
	}
	catPick := newPicker(w)
	ps := make([]product, n)
	for i := range ps {
		p := &ps[i]
		p.cat = catPick.pick(r)
		if r.ppm(15_000) { // ~1.5% of Olist products have no category
			p.cat = -1
		}
		median := 80
		if p.cat >= 0 {
			median = categories[p.cat].median
		}
		// Price: median × log-normal spread, interpolated between quantiles.
		q := r.intn(31)
		f := priceSpread[q] + (priceSpread[q+1]-priceSpread[q])*r.intn(1000)/1000
		cents := median * f / 10 // median reais × f/1000 × 100
		switch x := r.intn(10); {
		case x < 4: // 59.90
			cents = cents/100*100 + 90
		case x < 6: // 59.99
			cents = cents/100*100 + 99
		case x < 8: // 59.00
			cents = cents / 100 * 100
		}
		p.price = int32(max(85, cents))
		p.seller = int32(r.skewed(nSellers))
		p.nameLen = int16(r.between(20, 64))
		p.descLen = int16(r.between(60, 900))
		if r.intn(4) == 0 {
			p.descLen += int16(r.intn(3000))
		}
		p.photos = int8(1 + r.skewed(6))
		// Weight and dimensions grow together.
		switch x := r.intn(10); {
		case x < 5:
			p.weight = int32(r.between(100, 1000))
		case x < 8:
			p.weight = int32(r.between(1000, 5000))
		default:
			p.weight = int32(r.between(5000, 30000))
		}
		size := 10 + int(p.weight)/400
		p.l = int16(min(105, r.between(size, size+20)))
		p.h = int16(min(105, r.between(2, size)))
		p.wd = int16(min(118, r.between(max(6, size/2), size+10)))
	}
	// The untranslated categories are rare; make sure each is used, so that
	// consumers meet a category missing from the translation file.
	for c, cat := range categories {
		if cat.en != "" || len(ps) < 10 || slices.ContainsFunc(ps, func(p product) bool { return p.cat == c }) {
			continue
		}
		for try := 0; try < 1000; try++ {
			if p := &ps[r.intn(len(ps))]; p.cat >= 0 && categories[p.cat].en != "" {
				p.cat = c
				break
			}
		}
	}
	return ps
}
