package render

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"testing"
)

// linear converts an sRGB component in [0, 1] to linear light.
func linear(c float64) float64 {
	if c <= 0.04045 {
		return c / 12.92
	}
	return math.Pow((c+0.055)/1.055, 2.4)
}

// linRGB returns c's linear-light RGB components.
func linRGB(c color.Color) [3]float64 {
	r, g, b, _ := c.RGBA()
	return [3]float64{linear(float64(r) / 0xffff), linear(float64(g) / 0xffff), linear(float64(b) / 0xffff)}
}

// lab converts linear RGB (sRGB primaries, D65) to CIE L*a*b*.
func lab(rgb [3]float64) [3]float64 {
	x := 0.4124*rgb[0] + 0.3576*rgb[1] + 0.1805*rgb[2]
	y := 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
	z := 0.0193*rgb[0] + 0.1192*rgb[1] + 0.9505*rgb[2]
	f := func(t float64) float64 {
		if t > 216.0/24389 {
			return math.Cbrt(t)
		}
		return (24389.0/27*t + 16) / 116
	}
	fx, fy, fz := f(x/0.95047), f(y), f(z/1.08883)
	return [3]float64{116*fy - 16, 500 * (fx - fy), 200 * (fy - fz)}
}

// Machado, Oliveira & Fernandes (2009) simulation matrices of full
// protanopia, deuteranopia and tritanopia, on linear RGB.
var cvd = map[string][3][3]float64{
	"normal":       {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},
	"protanopia":   {{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}},
	"deuteranopia": {{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}},
	"tritanopia":   {{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}},
}

// deltaE returns the CIE76 distance between a and b as seen under vision m.
func deltaE(m [3][3]float64, a, b color.Color) float64 {
	see := func(c color.Color) [3]float64 {
		v := linRGB(c)
		var out [3]float64
		for i := range 3 {
			out[i] = math.Max(0, math.Min(1, m[i][0]*v[0]+m[i][1]*v[1]+m[i][2]*v[2]))
		}
		return lab(out)
	}
	p, q := see(a), see(b)
	return math.Sqrt((p[0]-q[0])*(p[0]-q[0]) + (p[1]-q[1])*(p[1]-q[1]) + (p[2]-q[2])*(p[2]-q[2]))
}

// minDeltaE returns the smallest pairwise distance among cs under vision m.
func minDeltaE(m [3][3]float64, cs []color.Color) (float64, string) {
	d, pair := math.Inf(1), ""
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			if e := deltaE(m, cs[i], cs[j]); e < d {
				d, pair = e, fmt.Sprintf("%v and %v", cs[i], cs[j])
			}
		}
	}
	return d, pair
}

func TestPaletteDistinct(t *testing.T) {
	var runs []color.Color
	for i := range len(okabeIto) {
		runs = append(runs, runColour(i))
	}
	// Okabe–Ito: ≥ 20 apart in normal vision (a JND is about 2.3), and still
	// ≥ 9 apart for each full colour-vision deficiency.
	for _, name := range []string{"normal", "protanopia", "deuteranopia", "tritanopia"} {
		want := 9.0
		if name == "normal" {
			want = 20
		}
		if d, pair := minDeltaE(cvd[name], runs); d < want {
			t.Errorf("run colours, %s: %s only ΔE %.1f apart, want ≥ %g", name, pair, d, want)
		}
		if d, pair := minDeltaE(cvd[name], barColours[:]); d < 20 {
			t.Errorf("bar groups, %s: %s only ΔE %.1f apart, want ≥ 20", name, pair, d)
		}
		// Every run colour stands out from the white background.
		for _, c := range runs {
			if e := deltaE(cvd[name], c, color.White); e < 8 {
				t.Errorf("%s: run colour %v only ΔE %.1f from white", name, c, e)
			}
		}
	}
	// The old pair DPO (run 0) and p-DPO (run 5 in the notebooks) differ.
	if d := deltaE(cvd["normal"], runColour(0), runColour(5)); d < 20 {
		t.Errorf("runs 0 and 5 ΔE %.1f apart", d)
	}
}

func TestRunStylesDistinct(t *testing.T) {
	type style struct {
		c    color.RGBA
		dash string
	}
	seen := map[style]int{}
	for i := range 40 {
		r, g, b, a := runColour(i).RGBA()
		s := style{color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}, fmt.Sprint(runDash(i))}
		if j, ok := seen[s]; ok {
			t.Errorf("runs %d and %d share colour and dashes %v", j, i, s)
		}
		seen[s] = i
	}
	if len(runDash(0)) != 0 || len(runDash(7)) != 0 || len(runDash(8)) == 0 {
		t.Errorf("dashes: runs 0–7 solid, run 8 dashed; got %v, %v, %v", runDash(0), runDash(7), runDash(8))
	}
}

func TestViridis(t *testing.T) {
	if viridisAt(0) != viridis[0] || viridisAt(1) != viridis[10] || viridisAt(-1) != viridis[0] || viridisAt(0.5) != viridis[5] {
		t.Errorf("viridis ends or middle wrong: %v %v %v", viridisAt(0), viridisAt(0.5), viridisAt(1))
	}
	// Lightness rises monotonically: readable in grey and for every CVD.
	var ls []float64
	for i := range 101 {
		ls = append(ls, lab(linRGB(viridisAt(float64(i) / 100)))[0])
	}
	if !slices.IsSorted(ls) {
		t.Errorf("viridis lightness not monotonic: %v", ls)
	}
}
