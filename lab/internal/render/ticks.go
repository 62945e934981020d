package render

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// Logarithmic axes: few labels, evenly spread, never overlapping.

// maxLogLabels is the most labels logTicks puts on an axis; with the
// labels at least 1/8 of the axis apart (minLogLabelGap), an axis of 4 cm
// fits them in 8 pt text with room to spare.
const (
	maxLogLabels   = 6
	minLogLabelGap = 1.0 / 8
	maxLogMinor    = 60 // the most unlabelled (minor) ticks
)

// logMantissas are the sets of labelled mantissas tried on axes spanning a
// few decades, densest first.
var logMantissas = [][]int{{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 5}, {1, 3}, {1}}

// decadeSteps are the steps between labelled powers of ten tried on axes
// spanning many decades (labels at the multiples of the step).
var decadeSteps = []int{1, 2, 3, 4, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000}

// logTicks marks a logarithmic axis over [lo, hi] with at most maxLogLabels
// labels, adjacent labels at least minLogLabelGap of the axis apart: the
// densest of m·10^k for m in {1…9}, {1, 2, 5}, {1, 3}, {1} that fits, else
// every s-th power of ten (s = 2, 3, 4, 5, 10, 20, …). Unlabelled ticks mark
// the other i·10^k where the axis spans at most 6 decades, else the powers
// of ten (every d-th, d dividing s, when there are more than maxLogMinor). Labels are
// decimals ("0.001", "1000") where every label has 1 to 5 digits, else
// powers ("10^{−30}", "2×10^{−5}", drawn with a superscript). An axis
// holding no labelled value gets its ends labelled.
// (plot.LogTicks labels every power of ten: 31 labels from 1e-30 to 1.)
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) {
		return nil
	}
	span := math.Log10(hi / lo)
	kmin, kmax := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	inRange := func(v float64) bool { return v >= lo*(1-1e-9) && v <= hi*(1+1e-9) }
	fits := func(vs []float64) bool {
		if len(vs) > maxLogLabels {
			return false
		}
		for i := 1; i < len(vs); i++ {
			if math.Log10(vs[i]/vs[i-1]) < minLogLabelGap*span {
				return false
			}
		}
		return true
	}
	// Labelled values: mantissa sets on short axes, decade steps on long ones.
	var labels []float64
	step := 0 // decades between labels; 0: labels at mantissas
	for _, ms := range logMantissas {
		var vs []float64
		for k := kmin; k <= kmax && len(vs) <= maxLogLabels; k++ {
			for _, m := range ms {
				if v := pow10m(m, k); inRange(v) {
					vs = append(vs, v)
				}
			}
		}
		if fits(vs) {
			labels = vs
			break
		}
	}
	if labels == nil {
		for _, s := range decadeSteps {
			var vs []float64
			for k := ceilDiv(kmin, s) * s; k <= kmax && len(vs) <= maxLogLabels; k += s {
				if v := pow10m(1, k); inRange(v) {
					vs = append(vs, v)
				}
			}
			if fits(vs) {
				labels, step = vs, s
				break
			}
		}
	}
	texts := logLabelTexts(labels)
	if len(labels) < 2 {
		// Within a decade and between labelled values: label the ends.
		labels, texts = []float64{lo}, []string{strconv.FormatFloat(lo, 'g', 3, 64)}
		if hi > lo {
			labels, texts = append(labels, hi), append(texts, strconv.FormatFloat(hi, 'g', 3, 64))
		}
	}
	ticks := make([]plot.Tick, 0, len(labels))
	for i, v := range labels {
		ticks = append(ticks, plot.Tick{Value: v, Label: texts[i]})
	}
	isLabel := func(v float64) bool {
		for _, l := range labels {
			if math.Abs(v/l-1) < 1e-9 {
				return true
			}
		}
		return false
	}
	// Minor ticks: i·10^k on short axes, powers of ten on long ones (every
	// d-th, d dividing the label step, when there are too many).
	var minor []float64
	if span <= 6 {
		for k := kmin; k <= kmax; k++ {
			for m := 1; m <= 9; m++ {
				minor = append(minor, pow10m(m, k))
			}
		}
	} else {
		s := max(step, 1)
		d := s
		for _, c := range decadeSteps {
			if c <= s && s%c == 0 && (kmax-kmin)/c <= maxLogMinor {
				d = c
				break
			}
		}
		for k := ceilDiv(kmin, d) * d; k <= kmax; k += d {
			minor = append(minor, pow10m(1, k))
		}
	}
	for _, v := range minor {
		if inRange(v) && !isLabel(v) {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	return ticks
}

// pow10m returns the float64 nearest m·10^k (parsed from its decimal text).
func pow10m(m, k int) float64 {
	v, _ := strconv.ParseFloat(strconv.Itoa(m)+"e"+strconv.Itoa(k), 64)
	return v
}

// ceilDiv returns ⌈a/b⌉ for b > 0.
func ceilDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// logLabelTexts formats the labels of a log axis: decimals where all have
// 1 to 5 digits (0.001 … 10000), else m×10^{k}.
func logLabelTexts(vs []float64) []string {
	decimal := true
	for _, v := range vs {
		if k := int(math.Floor(math.Log10(v) + 1e-9)); k < -3 || k > 4 {
			decimal = false
		}
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		if decimal {
			out[i] = strconv.FormatFloat(v, 'f', -1, 64)
			continue
		}
		k := int(math.Floor(math.Log10(v) + 1e-9))
		m := int(math.Round(v / math.Pow(10, float64(k))))
		out[i] = "10^{" + strings.Replace(strconv.Itoa(k), "-", "−", 1) + "}"
		if m != 1 {
			out[i] = strconv.Itoa(m) + "×" + out[i]
		}
	}
	return out
}

// logAxisTicks marks an axis drawn in log10 space: data plotted as log10(v)
// on a linear axis, ticks those of logTicks on [10^lo, 10^hi] at log10 of
// their values. The lab draws log axes this way rather than with
// plot.LogScale, whose axis-label box gonum centres at the arithmetic mean of
// the range (near its top on a log axis), leaving a wide empty band above
// the panel.
type logAxisTicks struct{}

// Ticks implements plot.Ticker.
func (logAxisTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := logTicks{}.Ticks(math.Pow(10, lo), math.Pow(10, hi))
	for i := range ts {
		ts[i].Value = math.Log10(ts[i].Value)
	}
	return ts
}

// setLogAxis makes a an axis of log10 values (see logAxisTicks).
func setLogAxis(a *plot.Axis) { a.Tick.Marker = logAxisTicks{} }

// linearTicks marks a linear axis with 2 to 6 labels at the multiples of
// 1, 2 or 5 × 10^k, written with the decimals the step needs ("250";
// "0.0 0.2 … 1.0"; "1.5×10^{6}" for values beyond 10^5 or steps below 10^{−4}),
// negative numbers with a minus sign (−), and unlabelled ticks halfway
// between them (at each unit for steps of 5).
// (plot.DefaultTicks writes 0 to 590 as "0.00 250.00 500.00".)
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || hi < lo {
		return nil
	}
	if hi == lo {
		return []plot.Tick{{Value: lo, Label: linearLabel(lo, math.Max(math.Abs(lo), 1), 1)}}
	}
	span := hi - lo
	var step float64
	var minorDiv int
	for k := int(math.Floor(math.Log10(span))) - 2; step == 0; k++ {
		for _, m := range []struct {
			m, div int
		}{{1, 2}, {2, 2}, {5, 5}} {
			s := pow10m(m.m, k)
			if n := math.Floor(hi/s+1e-9) - math.Ceil(lo/s-1e-9) + 1; n <= maxLogLabels {
				step, minorDiv = s, m.div
				break
			}
		}
	}
	maxAbs := math.Max(math.Abs(lo), math.Abs(hi))
	var ticks []plot.Tick
	for i := math.Ceil(lo/step - 1e-9); i*step <= hi+1e-9*step; i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: linearLabel(v, maxAbs, step)})
	}
	minor := step / float64(minorDiv)
	for i := math.Ceil(lo/minor - 1e-9); i*minor <= hi+1e-9*minor; i++ {
		if int(math.Round(i))%minorDiv != 0 {
			ticks = append(ticks, plot.Tick{Value: i * minor})
		}
	}
	return ticks
}

// linearLabel writes v, a multiple of step on an axis reaching maxAbs.
func linearLabel(v, maxAbs, step float64) string {
	if math.Abs(v) < step*1e-9 {
		v = 0
	}
	var s string
	if v == 0 && (maxAbs >= 1e5 || step < 1e-4) {
		s = "0"
	} else if maxAbs >= 1e5 || step < 1e-4 {
		k := int(math.Floor(math.Log10(math.Abs(v)) + 1e-9))
		digits := max(0, k-int(math.Floor(math.Log10(step)+1e-9)))
		m := strconv.FormatFloat(v/math.Pow(10, float64(k)), 'f', digits, 64)
		m = strings.TrimRight(strings.TrimRight(m, "0"), ".")
		s = "10^{" + strconv.Itoa(k) + "}"
		if m != "1" && m != "-1" {
			s = m + "×" + s
		} else if m == "-1" {
			s = "-" + s
		}
	} else {
		decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
		s = strconv.FormatFloat(v, 'f', decimals, 64)
	}
	return strings.ReplaceAll(s, "-", "−")
}
