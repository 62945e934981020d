package lab

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// History holds the metrics of a run, one row per logged step. Metrics lists
// the names in first-logged order; Values[name][i] is the value at Steps[i]
// (NaN where a metric was not logged at that step).
type History struct {
	Steps   []int                `json:"steps"`
	Metrics []string             `json:"metrics"`
	Values  map[string][]float64 `json:"values"`
}

// newHistory returns an empty History.
func newHistory() *History { return &History{Values: map[string][]float64{}} }

// add appends one row: step and its metrics (names in the given order).
func (h *History) add(step int, names []string, values map[string]float64) {
	h.Steps = append(h.Steps, step)
	for _, n := range names {
		if _, ok := h.Values[n]; !ok {
			h.Metrics = append(h.Metrics, n)
			col := make([]float64, len(h.Steps)-1)
			for i := range col {
				col[i] = math.NaN()
			}
			h.Values[n] = col
		}
	}
	for _, n := range h.Metrics {
		v, ok := values[n]
		if !ok {
			v = math.NaN()
		}
		h.Values[n] = append(h.Values[n], v)
	}
}

// Len returns the number of logged rows.
func (h *History) Len() int { return len(h.Steps) }

// Series returns a copy of the values of metric name, one per logged step, or
// nil when the metric was never logged.
func (h *History) Series(name string) []float64 {
	v, ok := h.Values[name]
	if !ok {
		return nil
	}
	return append([]float64(nil), v...)
}

// Last returns the last logged value of metric name, or NaN when absent.
func (h *History) Last(name string) float64 {
	v := h.Values[name]
	if len(v) == 0 {
		return math.NaN()
	}
	return v[len(v)-1]
}

// At returns the value of metric name at the logged step closest to step from
// below, or NaN when there is none.
func (h *History) At(name string, step int) float64 {
	v := h.Values[name]
	best := -1
	for i, s := range h.Steps {
		if s <= step {
			best = i
		}
	}
	if best < 0 || best >= len(v) {
		return math.NaN()
	}
	return v[best]
}

// WriteCSV writes a header "step,<metric>,…" and one row per logged step;
// floats use the shortest representation that round-trips (NaN as "NaN").
func (h *History) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{"step"}, h.Metrics...)); err != nil {
		return fmt.Errorf("lab: History.WriteCSV header: %w", err)
	}
	row := make([]string, len(h.Metrics)+1)
	for i, s := range h.Steps {
		row[0] = strconv.Itoa(s)
		for j, n := range h.Metrics {
			row[j+1] = strconv.FormatFloat(h.Values[n][i], 'g', -1, 64)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("lab: History.WriteCSV row %d (step %d): %w", i, s, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("lab: History.WriteCSV: %w", err)
	}
	return nil
}

// jsonFloat encodes NaN and ±Inf, which JSON numbers cannot hold, as strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("lab: bad float %q: %w", s, err)
		}
		*f = jsonFloat(v)
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

type historyJSON struct {
	Steps   []int                  `json:"steps"`
	Metrics []string               `json:"metrics"`
	Values  map[string][]jsonFloat `json:"values"`
}

// MarshalJSON encodes {"steps": […], "metrics": […], "values": {name: […]}},
// with NaN and ±Inf as the strings "NaN", "+Inf", "-Inf".
func (h *History) MarshalJSON() ([]byte, error) {
	out := historyJSON{Steps: h.Steps, Metrics: h.Metrics, Values: map[string][]jsonFloat{}}
	for n, vs := range h.Values {
		col := make([]jsonFloat, len(vs))
		for i, v := range vs {
			col[i] = jsonFloat(v)
		}
		out.Values[n] = col
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes the format written by MarshalJSON.
func (h *History) UnmarshalJSON(b []byte) error {
	var in historyJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("lab: decoding History: %w", err)
	}
	h.Steps, h.Metrics, h.Values = in.Steps, in.Metrics, map[string][]float64{}
	for n, vs := range in.Values {
		col := make([]float64, len(vs))
		for i, v := range vs {
			col[i] = float64(v)
		}
		h.Values[n] = col
	}
	return nil
}

// WriteJSON writes the History as indented JSON (see MarshalJSON).
func (h *History) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("lab: History.WriteJSON: %w", err)
	}
	return nil
}
