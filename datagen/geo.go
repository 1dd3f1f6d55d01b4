package datagen

import (
	"math"
	"slices"
	"strings"
)

// state is a Brazilian federative unit with the share of Olist customers and
// sellers it holds (in hundredths of a percent).
type state struct {
	uf        string
	customers int
	sellers   int
}

var states = []state{
	{"SP", 4198, 5970}, {"RJ", 1292, 460}, {"MG", 1170, 790}, {"RS", 550, 490},
	{"PR", 507, 1130}, {"SC", 366, 370}, {"BA", 340, 60}, {"DF", 215, 100},
	{"ES", 204, 80}, {"GO", 203, 130}, {"PE", 166, 30}, {"CE", 134, 40},
	{"PA", 98, 5}, {"MT", 91, 10}, {"MA", 75, 5}, {"MS", 72, 10},
	{"PB", 54, 20}, {"PI", 50, 5}, {"RN", 49, 20}, {"AL", 41, 5},
	{"SE", 35, 5}, {"TO", 28, 5}, {"RO", 25, 5}, {"AM", 15, 5},
	{"AC", 8, 5}, {"AP", 7, 5}, {"RR", 5, 5},
}

// city is a municipality: its lower-case Portuguese name with accents, its
// state, its weight within the state, its range of 5-digit CEP prefixes and
// its approximate centre.
type city struct {
	name     string
	uf       string
	w        int
	lo, hi   int
	lat, lng float64
}

var cities = []city{
	// SP
	{"são paulo", "SP", 165, 1000, 5999, -23.5505, -46.6333},
	{"guarulhos", "SP", 28, 7000, 7399, -23.4538, -46.5333},
	{"osasco", "SP", 18, 6000, 6299, -23.5329, -46.7917},
	{"barueri", "SP", 10, 6400, 6499, -23.5107, -46.8761},
	{"santo andré", "SP", 19, 9000, 9299, -23.6639, -46.5383},
	{"são bernardo do campo", "SP", 22, 9600, 9899, -23.6914, -46.5646},
	{"são caetano do sul", "SP", 6, 9500, 9599, -23.6229, -46.5548},
	{"diadema", "SP", 5, 9900, 9999, -23.6813, -46.6205},
	{"mogi das cruzes", "SP", 9, 8700, 8899, -23.5208, -46.1854},
	{"campinas", "SP", 34, 13000, 13139, -22.9099, -47.0626},
	{"jundiaí", "SP", 13, 13200, 13219, -23.1857, -46.8978},
	{"sorocaba", "SP", 15, 18000, 18109, -23.5015, -47.4526},
	{"santos", "SP", 17, 11000, 11099, -23.9608, -46.3336},
	{"são josé dos campos", "SP", 16, 12200, 12249, -23.1791, -45.8872},
	{"ribeirão preto", "SP", 12, 14000, 14114, -21.1775, -47.8103},
	{"piracicaba", "SP", 7, 13400, 13429, -22.7338, -47.6476},
	{"bauru", "SP", 6, 17000, 17099, -22.3246, -49.0871},
	{"são josé do rio preto", "SP", 7, 15000, 15099, -20.8113, -49.3758},
	{"franca", "SP", 4, 14400, 14414, -20.5352, -47.4039},
	{"presidente prudente", "SP", 4, 19000, 19099, -22.1207, -51.3925},
	{"taubaté", "SP", 5, 12000, 12119, -23.0264, -45.5553},
	{"americana", "SP", 4, 13465, 13479, -22.7374, -47.3331},
	{"araraquara", "SP", 3, 14800, 14811, -21.7845, -48.1780},
	{"marília", "SP", 3, 17500, 17529, -22.2139, -49.9458},
	{"limeira", "SP", 3, 13480, 13489, -22.5647, -47.4017},
	{"são carlos", "SP", 3, 13560, 13574, -22.0174, -47.8908},
	{"indaiatuba", "SP", 3, 13330, 13349, -23.0816, -47.2101},
	{"itu", "SP", 2, 13300, 13314, -23.2544, -47.2927},
	// RJ
	{"rio de janeiro", "RJ", 270, 20000, 23799, -22.9068, -43.1729},
	{"niterói", "RJ", 66, 24000, 24399, -22.8832, -43.1034},
	{"são gonçalo", "RJ", 32, 24400, 24799, -22.8268, -43.0634},
	{"duque de caxias", "RJ", 27, 25000, 25299, -22.7856, -43.3117},
	{"nova iguaçu", "RJ", 34, 26000, 26099, -22.7556, -43.4603},
	{"belford roxo", "RJ", 10, 26100, 26199, -22.7640, -43.3992},
	{"petrópolis", "RJ", 18, 25600, 25779, -22.5050, -43.1787},
	{"teresópolis", "RJ", 8, 25950, 25999, -22.4165, -42.9752},
	{"volta redonda", "RJ", 13, 27200, 27299, -22.5202, -44.0996},
	{"macaé", "RJ", 10, 27900, 27999, -22.3768, -41.7848},
	{"campos dos goytacazes", "RJ", 14, 28000, 28099, -21.7545, -41.3244},
	{"cabo frio", "RJ", 7, 28900, 28949, -22.8894, -42.0286},
	// MG
	{"belo horizonte", "MG", 66, 30000, 31999, -19.9167, -43.9345},
	{"contagem", "MG", 36, 32000, 32399, -19.9320, -44.0539},
	{"betim", "MG", 15, 32600, 32699, -19.9678, -44.1977},
	{"uberlândia", "MG", 36, 38400, 38414, -18.9186, -48.2772},
	{"uberaba", "MG", 12, 38000, 38099, -19.7472, -47.9381},
	{"juiz de fora", "MG", 36, 36000, 36099, -21.7642, -43.3496},
	{"montes claros", "MG", 15, 39400, 39409, -16.7350, -43.8617},
	{"governador valadares", "MG", 10, 35000, 35099, -18.8545, -41.9555},
	{"ipatinga", "MG", 10, 35160, 35164, -19.4703, -42.5476},
	{"divinópolis", "MG", 10, 35500, 35504, -20.1446, -44.8912},
	{"sete lagoas", "MG", 8, 35700, 35704, -19.4569, -44.2413},
	{"poços de caldas", "MG", 9, 37700, 37719, -21.7878, -46.5613},
	{"varginha", "MG", 6, 37000, 37099, -21.5556, -45.4364},
	{"pouso alegre", "MG", 6, 37550, 37559, -22.2266, -45.9389},
	// ES
	{"vitória", "ES", 200, 29000, 29099, -20.3155, -40.3128},
	{"vila velha", "ES", 190, 29100, 29129, -20.3297, -40.2925},
	{"cariacica", "ES", 90, 29140, 29159, -20.2632, -40.4165},
	{"serra", "ES", 170, 29160, 29179, -20.1209, -40.3075},
	{"guarapari", "ES", 30, 29200, 29229, -20.6772, -40.5093},
	{"cachoeiro de itapemirim", "ES", 50, 29300, 29319, -20.8462, -41.1198},
	{"colatina", "ES", 30, 29700, 29709, -19.5396, -40.6274},
	{"linhares", "ES", 40, 29900, 29909, -19.3946, -40.0643},
	// BA
	{"salvador", "BA", 140, 40000, 42599, -12.9777, -38.5016},
	{"lauro de freitas", "BA", 40, 42700, 42709, -12.8978, -38.3271},
	{"camaçari", "BA", 30, 42800, 42849, -12.6996, -38.3263},
	{"feira de santana", "BA", 60, 44000, 44099, -12.2664, -38.9663},
	{"vitória da conquista", "BA", 40, 45000, 45099, -14.8619, -40.8445},
	{"itabuna", "BA", 20, 45600, 45614, -14.7876, -39.2781},
	{"ilhéus", "BA", 20, 45650, 45669, -14.7935, -39.0464},
	{"barreiras", "BA", 15, 47800, 47809, -12.1439, -44.9968},
	{"juazeiro", "BA", 15, 48900, 48909, -9.4162, -40.5033},
	// SE
	{"aracaju", "SE", 600, 49000, 49099, -10.9472, -37.0731},
	{"nossa senhora do socorro", "SE", 80, 49160, 49169, -10.8550, -37.1264},
	{"lagarto", "SE", 50, 49400, 49409, -10.9136, -37.6689},
	{"itabaiana", "SE", 50, 49500, 49509, -10.6850, -37.4253},
	// PE
	{"recife", "PE", 170, 50000, 52999, -8.0476, -34.8770},
	{"olinda", "PE", 70, 53000, 53299, -8.0089, -34.8553},
	{"paulista", "PE", 40, 53400, 53499, -7.9408, -34.8728},
	{"jaboatão dos guararapes", "PE", 90, 54000, 54499, -8.1130, -35.0149},
	{"cabo de santo agostinho", "PE", 15, 54500, 54599, -8.2822, -35.0253},
	{"caruaru", "PE", 40, 55000, 55099, -8.2760, -35.9819},
	{"garanhuns", "PE", 15, 55290, 55299, -8.8829, -36.4969},
	{"petrolina", "PE", 40, 56300, 56399, -9.3891, -40.5030},
	// AL
	{"maceió", "AL", 600, 57000, 57099, -9.6658, -35.7350},
	{"rio largo", "AL", 30, 57100, 57109, -9.4781, -35.8536},
	{"arapiraca", "AL", 100, 57300, 57319, -9.7525, -36.6611},
	// PB
	{"joão pessoa", "PB", 500, 58000, 58099, -7.1195, -34.8450},
	{"santa rita", "PB", 40, 58300, 58309, -7.1139, -34.9783},
	{"campina grande", "PB", 200, 58400, 58449, -7.2307, -35.8817},
	{"patos", "PB", 30, 58700, 58709, -7.0244, -37.2800},
	// RN
	{"natal", "RN", 550, 59000, 59139, -5.7945, -35.2110},
	{"parnamirim", "RN", 100, 59140, 59159, -5.9116, -35.2630},
	{"mossoró", "RN", 100, 59600, 59649, -5.1878, -37.3442},
	// CE
	{"fortaleza", "CE", 160, 60000, 61599, -3.7319, -38.5267},
	{"caucaia", "CE", 50, 61600, 61699, -3.7361, -38.6531},
	{"maracanaú", "CE", 30, 61900, 61939, -3.8767, -38.6256},
	{"sobral", "CE", 30, 62000, 62099, -3.6894, -40.3483},
	{"juazeiro do norte", "CE", 40, 63000, 63099, -7.2131, -39.3153},
	{"crato", "CE", 20, 63100, 63149, -7.2342, -39.4094},
	// PI
	{"teresina", "PI", 550, 64000, 64099, -5.0892, -42.8019},
	{"parnaíba", "PI", 80, 64200, 64219, -2.9047, -41.7767},
	{"picos", "PI", 50, 64600, 64609, -7.0769, -41.4669},
	// MA
	{"são luís", "MA", 450, 65000, 65109, -2.5307, -44.3068},
	{"caxias", "MA", 40, 65600, 65609, -4.8590, -43.3561},
	{"timon", "MA", 50, 65630, 65639, -5.0942, -42.8367},
	{"imperatriz", "MA", 120, 65900, 65919, -5.5264, -47.4917},
	// PA
	{"belém", "PA", 240, 66000, 66999, -1.4558, -48.4902},
	{"ananindeua", "PA", 120, 67000, 67199, -1.3656, -48.3722},
	{"santarém", "PA", 70, 68000, 68099, -2.4431, -54.7083},
	{"marabá", "PA", 50, 68500, 68509, -5.3686, -49.1178},
	{"castanhal", "PA", 40, 68740, 68749, -1.2939, -47.9264},
	// AP
	{"macapá", "AP", 750, 68900, 68919, 0.0349, -51.0694},
	{"santana", "AP", 150, 68925, 68929, -0.0583, -51.1817},
	// AM
	{"manaus", "AM", 850, 69000, 69099, -3.1190, -60.0217},
	{"itacoatiara", "AM", 40, 69100, 69109, -3.1386, -58.4442},
	{"parintins", "AM", 40, 69150, 69154, -2.6283, -56.7358},
	// RR
	{"boa vista", "RR", 900, 69300, 69339, 2.8235, -60.6758},
	{"rorainópolis", "RR", 30, 69373, 69375, 0.9397, -60.4389},
	// AC
	{"rio branco", "AC", 800, 69900, 69924, -9.9754, -67.8249},
	{"cruzeiro do sul", "AC", 100, 69980, 69989, -7.6306, -72.6700},
	// DF
	{"brasília", "DF", 700, 70000, 71999, -15.7939, -47.8828},
	{"taguatinga", "DF", 60, 72000, 72199, -15.8311, -48.0564},
	{"ceilândia", "DF", 40, 72200, 72299, -15.8192, -48.1083},
	{"samambaia", "DF", 20, 72300, 72399, -15.8789, -48.0831},
	{"gama", "DF", 30, 72400, 72499, -16.0194, -48.0617},
	{"sobradinho", "DF", 30, 73000, 73099, -15.6531, -47.7911},
	{"planaltina", "DF", 20, 73300, 73399, -15.6214, -47.6486},
	// GO
	{"goiânia", "GO", 190, 74000, 74899, -16.6869, -49.2648},
	{"aparecida de goiânia", "GO", 100, 74900, 74999, -16.8198, -49.2469},
	{"anápolis", "GO", 80, 75000, 75149, -16.3281, -48.9530},
	{"luziânia", "GO", 30, 72800, 72899, -16.2525, -47.9503},
	{"catalão", "GO", 20, 75700, 75709, -18.1656, -47.9464},
	{"jataí", "GO", 20, 75800, 75809, -17.8814, -51.7144},
	{"rio verde", "GO", 40, 75900, 75909, -17.7923, -50.9192},
	// TO
	{"palmas", "TO", 450, 77000, 77299, -10.1689, -48.3317},
	{"gurupi", "TO", 100, 77400, 77429, -11.7292, -49.0686},
	{"araguaína", "TO", 250, 77800, 77829, -7.1911, -48.2072},
	// MT
	{"cuiabá", "MT", 400, 78000, 78099, -15.6014, -56.0979},
	{"várzea grande", "MT", 150, 78100, 78159, -15.6458, -56.1322},
	{"tangará da serra", "MT", 40, 78300, 78309, -14.6229, -57.4933},
	{"sinop", "MT", 80, 78550, 78559, -11.8642, -55.5094},
	{"rondonópolis", "MT", 100, 78700, 78749, -16.4673, -54.6372},
	// RO
	{"porto velho", "RO", 400, 76800, 76849, -8.7612, -63.9004},
	{"ariquemes", "RO", 100, 76870, 76879, -9.9133, -63.0408},
	{"ji-paraná", "RO", 150, 76900, 76919, -10.8853, -61.9517},
	{"cacoal", "RO", 80, 76960, 76969, -11.4386, -61.4472},
	{"vilhena", "RO", 80, 76980, 76989, -12.7406, -60.1458},
	// MS
	{"campo grande", "MS", 550, 79000, 79129, -20.4697, -54.6201},
	{"corumbá", "MS", 40, 79300, 79339, -19.0077, -57.6511},
	{"três lagoas", "MS", 70, 79600, 79649, -20.7849, -51.7007},
	{"dourados", "MS", 150, 79800, 79849, -22.2231, -54.8118},
	// PR
	{"curitiba", "PR", 157, 80000, 82999, -25.4284, -49.2733},
	{"são josé dos pinhais", "PR", 30, 83000, 83099, -25.5313, -49.2031},
	{"colombo", "PR", 20, 83400, 83419, -25.2925, -49.2242},
	{"ponta grossa", "PR", 40, 84000, 84099, -25.0945, -50.1633},
	{"guarapuava", "PR", 20, 85000, 85099, -25.3935, -51.4562},
	{"cascavel", "PR", 35, 85800, 85829, -24.9555, -53.4552},
	{"foz do iguaçu", "PR", 30, 85850, 85869, -25.5163, -54.5854},
	{"toledo", "PR", 15, 85900, 85909, -24.7246, -53.7412},
	{"londrina", "PR", 70, 86000, 86099, -23.3045, -51.1696},
	{"apucarana", "PR", 15, 86800, 86809, -23.5508, -51.4608},
	{"maringá", "PR", 60, 87000, 87119, -23.4210, -51.9331},
	// SC
	{"florianópolis", "SC", 100, 88000, 88099, -27.5954, -48.5480},
	{"são josé", "SC", 70, 88100, 88119, -27.6136, -48.6366},
	{"palhoça", "SC", 30, 88130, 88139, -27.6455, -48.6697},
	{"itajaí", "SC", 50, 88300, 88319, -26.9101, -48.6705},
	{"balneário camboriú", "SC", 40, 88330, 88339, -26.9926, -48.6352},
	{"lages", "SC", 30, 88500, 88529, -27.8157, -50.3264},
	{"criciúma", "SC", 40, 88800, 88819, -28.6775, -49.3697},
	{"blumenau", "SC", 90, 89000, 89099, -26.9194, -49.0661},
	{"joinville", "SC", 110, 89200, 89239, -26.3045, -48.8487},
	{"jaraguá do sul", "SC", 30, 89250, 89269, -26.4851, -49.0713},
	{"chapecó", "SC", 40, 89800, 89819, -27.1004, -52.6152},
	// RS
	{"porto alegre", "RS", 127, 90000, 91999, -30.0346, -51.2177},
	{"canoas", "RS", 50, 92000, 92499, -29.9178, -51.1839},
	{"são leopoldo", "RS", 30, 93000, 93099, -29.7545, -51.1498},
	{"novo hamburgo", "RS", 40, 93300, 93599, -29.6783, -51.1309},
	{"gravataí", "RS", 30, 94000, 94199, -29.9444, -50.9919},
	{"viamão", "RS", 20, 94400, 94499, -30.0819, -51.0194},
	{"caxias do sul", "RS", 60, 95000, 95099, -29.1678, -51.1794},
	{"pelotas", "RS", 40, 96000, 96099, -31.7654, -52.3376},
	{"rio grande", "RS", 20, 96200, 96219, -32.0350, -52.0986},
	{"santa cruz do sul", "RS", 20, 96800, 96849, -29.7175, -52.4258},
	{"santa maria", "RS", 40, 97000, 97119, -29.6842, -53.8069},
	{"passo fundo", "RS", 30, 99000, 99099, -28.2620, -52.4083},
}

// stripAccents maps the accented letters of Portuguese to ASCII, as a
// careless data entry would (Olist has "sao paulo" next to "são paulo").
var stripAccents = strings.NewReplacer(
	"á", "a", "à", "a", "ã", "a", "â", "a", "ä", "a",
	"é", "e", "è", "e", "ê", "e",
	"í", "i", "ì", "i", "î", "i",
	"ó", "o", "ò", "o", "ô", "o", "õ", "o", "ö", "o",
	"ú", "u", "ù", "u", "ü", "u",
	"ç", "c", "ñ", "n",
).Replace

// cityInfo is a city prepared for generation.
type cityInfo struct {
	city
	plain    string // name without accents
	upper    string // name upper-cased
	lat, lng int64  // centre in 1e-14 degree
	spread   int64  // radius of the zips around the centre, 1e-14 degree
	zip0     int    // first index into geoWorld.zips
	nzip     int
	state    int // index into states
	custW    int // global customer weight
	sellerW  int // global seller weight
	accented bool
}

// zipInfo is one zip code prefix of the generated geography.
type zipInfo struct {
	prefix   int
	city     int
	lat, lng int64
}

// geoWorld is the geography of one run: cities and the zip prefixes used by
// customers, sellers and the geolocation file.
type geoWorld struct {
	cities     []cityInfo
	zips       []zipInfo
	custPick   picker
	sellerPick picker
}

const degree = 100_000_000_000_000 // 1e14 units of a coordinate

func newGeoWorld(r *rng, nZips int) *geoWorld {
	g := &geoWorld{cities: make([]cityInfo, len(cities))}
	stateIdx := map[string]int{}
	for i, s := range states {
		stateIdx[s.uf] = i
	}
	stateSum := make([]int, len(states))
	for _, c := range cities {
		stateSum[stateIdx[c.uf]] += c.w
	}
	custW := make([]int, len(cities))
	sellerW := make([]int, len(cities))
	totalW := 0
	for i, c := range cities {
		si := stateIdx[c.uf]
		ci := &g.cities[i]
		ci.city = c
		ci.plain = stripAccents(c.name)
		ci.accented = ci.plain != c.name
		ci.upper = strings.ToUpper(c.name)
		ci.lat = int64(math.Round(c.lat*1e6)) * 100_000_000
		ci.lng = int64(math.Round(c.lng*1e6)) * 100_000_000
		ci.state = si
		ci.custW = states[si].customers * 1000 * c.w / stateSum[si]
		ci.sellerW = states[si].sellers * 1000 * c.w / stateSum[si]
		if ci.custW < 1 {
			ci.custW = 1
		}
		if ci.sellerW < 1 {
			ci.sellerW = 1
		}
		// Bigger cities (wider CEP ranges) spread wider: 0.03° .. 0.15°.
		ci.spread = degree*3/100 + degree*12/100*int64(min(c.hi-c.lo+1, 1000))/1000
		custW[i], sellerW[i] = ci.custW, ci.sellerW
		totalW += ci.custW
	}
	g.custPick = newPicker(custW)
	g.sellerPick = newPicker(sellerW)

	// Zip prefixes: each city gets a number proportional to its weight, at
	// least one, at most its CEP range, spread over the range.
	for i := range g.cities {
		ci := &g.cities[i]
		span := ci.hi - ci.lo + 1
		k := nZips * ci.custW / totalW
		k = max(1, min(k, span))
		ci.zip0 = len(g.zips)
		ci.nzip = k
		step := span / k
		for j := 0; j < k; j++ {
			prefix := ci.lo + j*step + r.intn(step)
			g.zips = append(g.zips, zipInfo{
				prefix: prefix,
				city:   i,
				lat:    ci.lat + int64(r.intn(int(2*ci.spread+1))) - ci.spread,
				lng:    ci.lng + int64(r.intn(int(2*ci.spread+1))) - ci.spread,
			})
		}
	}
	return g
}

// sortedZips returns zip indexes ordered by prefix (the geolocation file's
// order).
func (g *geoWorld) sortedZips() []int {
	idx := make([]int, len(g.zips))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return g.zips[a].prefix - g.zips[b].prefix })
	return idx
}

// customerZip draws the zip of a new customer.
func (g *geoWorld) customerZip(r *rng) int {
	c := &g.cities[g.custPick.pick(r)]
	return c.zip0 + r.intn(c.nzip)
}

// sellerZip draws the zip of a seller (sellers concentrate in SP and PR).
func (g *geoWorld) sellerZip(r *rng) int {
	c := &g.cities[g.sellerPick.pick(r)]
	return c.zip0 + r.intn(c.nzip)
}
