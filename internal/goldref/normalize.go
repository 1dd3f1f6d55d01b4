package goldref

import "strings"

// normalizeCity is the pipeline's customer city normalization: trim, collapse
// inner whitespace to one space, lower-case, strip accents.
func normalizeCity(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ToLower(s)
	return stripAccents(s)
}

// stripAccents removes accents the way Unicode canonical decomposition (NFD)
// followed by dropping the combining marks does, for the letters a
// Brazilian (or any Western European) city name uses.
//
// Coverage: every precomposed letter of Latin-1 Supplement (U+00C0–U+00FF)
// and Latin Extended-A (U+0100–U+017F) that has a canonical decomposition
// is mapped to its base letter (À→A, ç→c, ñ→n, ő→o, ž→z, …), and the
// combining diacritical marks U+0300–U+036F are dropped wherever they
// appear (so already-decomposed input is handled too). Letters of those
// blocks without a canonical decomposition are left as they are, exactly as
// NFD leaves them: Æ æ Ð ð Ø ø Þ þ ß Đ đ Ħ ħ ı Ĳ ĳ ĸ Ŀ ŀ Ł ł ŉ Ŋ ŋ Œ œ Ŧ ŧ ſ
// (and the signs × ÷). Letters outside these blocks are not decomposed.
func stripAccents(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x300 && r <= 0x36F { // combining diacritical marks
			continue
		}
		if base, ok := accentBase[r]; ok {
			b.WriteRune(base)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// accentBase maps each precomposed letter to its base letter; built from
// accentGroups.
var accentBase = func() map[rune]rune {
	m := make(map[rune]rune)
	for _, g := range accentGroups {
		for _, r := range g.letters {
			m[r] = g.base
		}
	}
	return m
}()

// accentGroups lists, per base letter, the precomposed letters of U+00C0–
// U+017F whose canonical decomposition starts with that base letter.
var accentGroups = []struct {
	base    rune
	letters string
}{
	{'A', "ÀÁÂÃÄÅĀĂĄ"},
	{'a', "àáâãäåāăą"},
	{'C', "ÇĆĈĊČ"},
	{'c', "çćĉċč"},
	{'D', "Ď"},
	{'d', "ď"},
	{'E', "ÈÉÊËĒĔĖĘĚ"},
	{'e', "èéêëēĕėęě"},
	{'G', "ĜĞĠĢ"},
	{'g', "ĝğġģ"},
	{'H', "Ĥ"},
	{'h', "ĥ"},
	{'I', "ÌÍÎÏĨĪĬĮİ"},
	{'i', "ìíîïĩīĭį"},
	{'J', "Ĵ"},
	{'j', "ĵ"},
	{'K', "Ķ"},
	{'k', "ķ"},
	{'L', "ĹĻĽ"},
	{'l', "ĺļľ"},
	{'N', "ÑŃŅŇ"},
	{'n', "ñńņň"},
	{'O', "ÒÓÔÕÖŌŎŐ"},
	{'o', "òóôõöōŏő"},
	{'R', "ŔŖŘ"},
	{'r', "ŕŗř"},
	{'S', "ŚŜŞŠ"},
	{'s', "śŝşš"},
	{'T', "ŢŤ"},
	{'t', "ţť"},
	{'U', "ÙÚÛÜŨŪŬŮŰŲ"},
	{'u', "ùúûüũūŭůűų"},
	{'W', "Ŵ"},
	{'w', "ŵ"},
	{'Y', "ÝŶŸ"},
	{'y', "ýÿŷ"},
	{'Z', "ŹŻŽ"},
	{'z', "źżž"},
}
