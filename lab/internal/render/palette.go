package render

import (
	"image/color"

	"gonum.org/v1/plot/vg"
)

// Colours of the lab's figures, all safe for colour-vision deficiencies.

// okabeIto is the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal
// Design"), ordered for lines on white: the yellow, the faintest, comes last.
var okabeIto = [8]color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
}

// runDashes are the dash patterns of runs 0–7, 8–15, …: solid, then dashed,
// dotted, dash-dotted, long-dashed (in points).
var runDashes = [][]float64{nil, {6, 3}, {1.5, 2.5}, {6, 2.5, 1.5, 2.5}, {10, 4}}

// runColour is the colour of run (or line) i of a figure: the Okabe–Ito
// colours in turn.
func runColour(i int) color.Color { return okabeIto[i%len(okabeIto)] }

// runDash is the dash pattern of run i: solid for the first 8 runs, then a
// new pattern with each new round of the colours, so that runs i and i+8
// differ.
func runDash(i int) []vg.Length {
	d := runDashes[(i/len(okabeIto))%len(runDashes)]
	out := make([]vg.Length, len(d))
	for j, v := range d {
		out[j] = vg.Points(v)
	}
	return out
}

// barColours are the colours of bar groups 0, 1, 2 (Bars.Style): Okabe–Ito
// blue, a neutral grey, Okabe–Ito orange (for a trained policy, its reference
// and the optimum: blue and orange stay apart under every colour-vision
// deficiency; grey differs from both in lightness).
var barColours = [3]color.Color{
	okabeIto[0],
	color.RGBA{0x9A, 0x9A, 0x9A, 0xff},
	okabeIto[4],
}

// barColour is the colour of bar group i: barColours in turn.
func barColour(i int) color.Color { return barColours[i%len(barColours)] }

// referenceColour is the grey of reference lines (Line.Reference).
var referenceColour = color.Gray{Y: 110}

// viridis holds 11 evenly spaced stops of matplotlib's viridis colour map
// (perceptually uniform, readable in grey and under colour-vision
// deficiencies), dark purple at 0 to yellow at 1.
var viridis = [11]color.RGBA{
	{0x44, 0x01, 0x54, 0xff}, {0x48, 0x24, 0x75, 0xff}, {0x41, 0x44, 0x87, 0xff}, {0x35, 0x5F, 0x8D, 0xff},
	{0x2A, 0x78, 0x8E, 0xff}, {0x21, 0x91, 0x8C, 0xff}, {0x22, 0xA8, 0x84, 0xff}, {0x44, 0xBF, 0x70, 0xff},
	{0x7A, 0xD1, 0x51, 0xff}, {0xBD, 0xDF, 0x26, 0xff}, {0xFD, 0xE7, 0x25, 0xff},
}

// viridisAt returns the viridis colour at t in [0, 1] (clamped), linearly
// interpolated between stops.
func viridisAt(t float64) color.RGBA {
	t = max(0, min(1, t))
	x := t * float64(len(viridis)-1)
	i := min(int(x), len(viridis)-2)
	f := x - float64(i)
	a, b := viridis[i], viridis[i+1]
	mix := func(u, v uint8) uint8 { return uint8(float64(u)*(1-f) + float64(v)*f + 0.5) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// missingColour fills heatmap cells without a value.
var missingColour = color.RGBA{0xD9, 0xD9, 0xD9, 0xff}
