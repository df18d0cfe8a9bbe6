package fixedwidth_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// movementGen writes demo inventory-movement records (180 columns) with
// varied, sometimes multi-byte, text. It is deterministic for a seed.
type movementGen struct {
	r  *rand.Rand
	id int64
}

func newMovementGen(seed uint64) *movementGen {
	return &movementGen{r: rand.New(rand.NewPCG(seed, 7)), id: 900000}
}

var genAlphabet = []rune("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./ ÉÈÂØÜ×—²")

func (g *movementGen) text(n int, ascii bool) string {
	k := g.r.IntN(n + 1)
	var b strings.Builder
	for range k {
		a := genAlphabet
		if ascii {
			a = a[:40]
		}
		b.WriteRune(a[g.r.IntN(len(a))])
	}
	return padRunes(b.String(), n)
}

func padRunes(s string, n int) string {
	if c := len([]rune(s)); c < n {
		return s + strings.Repeat(" ", n-c)
	}
	return s
}

// detail returns one D record.
func (g *movementGen) detail() string {
	g.id++
	types := []string{"RCPT", "ISSU", "XFER", "ADJ "}
	uoms := []string{"EA ", "KG ", "CS ", "M  "}
	q := g.r.Int64N(99_999_999_999)
	sign := "+"
	if g.r.IntN(3) == 0 {
		sign = "-"
	}
	ts := fmt.Sprintf("2024%02d%02d%02d%02d%02d", 1+g.r.IntN(12), 1+g.r.IntN(28), []int{0, 1, 3, 9, 13, 17, 23}[g.r.IntN(7)], g.r.IntN(60), g.r.IntN(60))
	return "D" + fmt.Sprintf("%012d", g.id) +
		padRunes("ITM-"+fmt.Sprint(g.r.IntN(100000)), 18) +
		g.text(30, false) +
		g.text(10, true) + g.text(12, true) + g.text(10, true) + g.text(12, true) +
		types[g.r.IntN(4)] +
		sign + fmt.Sprintf("%011d", q) +
		uoms[g.r.IntN(4)] + ts +
		g.text(12, true) + g.text(20, true) + g.text(10, false)
}

// stream returns a whole drop: header, n details, trailer.
func (g *movementGen) stream(n int) string {
	var b strings.Builder
	b.WriteString(demoHeader + "\n")
	for range n {
		b.WriteString(g.detail())
		b.WriteByte('\n')
	}
	b.WriteString(demoTrailer(fmt.Sprintf("%09d", n)) + "\n")
	return b.String()
}
