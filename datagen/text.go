package datagen

// Review texts, in the style of Olist's (Portuguese, informal, with commas,
// quotes and line breaks).

var goodTitles = []string{
	"recomendo", "Ótimo", "Muito bom", "Super recomendo", "Excelente",
	"Bom", "Gostei", "Nota 10", "Perfeito", "Ótimo produto", "Chegou rápido",
	"Satisfeito", "Amei!", "Tudo certo",
}

var badTitles = []string{
	"Não recebi", "Produto com defeito", "Atraso na entrega", "Ruim",
	"Péssimo", "Decepcionado", "Produto errado", "Não recomendo",
	"Veio faltando", "Aguardando",
}

var goodSentences = []string{
	"Produto chegou antes do prazo, muito bem embalado.",
	"Recomendo a loja, entrega rápida!",
	"Ótimo produto, exatamente como descrito.",
	"Comprei para minha mãe e ela adorou",
	"Produto de \"primeira linha\", recomendo.",
	"Chegou tudo certinho, obrigado",
	"Muito bom, qualidade excelente, preço justo.",
	"Entrega super rápida, produto original.",
	"Bem embalado, chegou no prazo",
	"Atendeu às expectativas",
	"Já é a segunda vez que compro, sempre muito bom.",
	"Lindo, igual à foto!",
	"Vendedor atencioso, respondeu todas as dúvidas.",
	"Produto bom, porém a caixa veio amassada.",
}

var badSentences = []string{
	"Não recebi o produto até agora.",
	"Veio com defeito, quero devolver.",
	"O produto é bom, mas a entrega atrasou muito.",
	"Comprei 2 unidades, recebi apenas 1",
	"Recebi o produto \"quebrado\", péssimo.",
	"A cor é diferente da anunciada",
	"Já fiz contato com a loja e ninguém responde, estou aguardando.",
	"Produto de baixa qualidade, não vale o preço.",
	"Veio outro produto, não o que comprei!",
	"Prazo de entrega muito longo",
	"Quero o meu dinheiro de volta.",
	"Não funcionou, liguei e desliguei várias vezes",
}

// reviewText draws an optional title and message for a review; good chooses
// the tone. An empty string means the field is empty (as for most Olist
// reviews).
func reviewText(r *rng, score int, buf []byte) (title string, msg []byte) {
	good := score >= 4
	pTitle, pMsg := 100_000, 330_000
	if !good {
		pTitle, pMsg = 200_000, 700_000
	}
	if r.ppm(pTitle) {
		if good {
			title = goodTitles[r.intn(len(goodTitles))]
		} else {
			title = badTitles[r.intn(len(badTitles))]
		}
	}
	if !r.ppm(pMsg) {
		return title, buf[:0]
	}
	pool := goodSentences
	if !good {
		pool = badSentences
	}
	msg = buf[:0]
	n := 1 + r.skewed(4)
	for i := 0; i < n; i++ {
		if i > 0 {
			switch r.intn(6) {
			case 0:
				msg = append(msg, '\n')
			case 1:
				msg = append(msg, '\r', '\n')
			case 2:
				msg = append(msg, ", "...)
			default:
				msg = append(msg, ' ')
			}
		}
		msg = append(msg, pool[r.intn(len(pool))]...)
	}
	return title, msg
}
