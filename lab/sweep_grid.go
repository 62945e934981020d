package lab

import (
	"fmt"
	"reflect"
)

// Axis is one dimension of a Grid: the name of a Config field (as spelled in
// Go, e.g. "Beta", "Gamma", "Seed", "Method") and the values it takes, in order.
type Axis struct {
	Field  string
	Values []any
}

// Vary returns the Axis that sets Config.<field> to each of values in turn.
// Values are converted to the field's type: any Go number fits a numeric field
// when the conversion is exact (2 fits an int field, 2.5 does not), and a
// string names a constant of an enumerated field ("PDPO" for Method, "Hull"
// for Aggregation). The values share one type T, so a notebook can keep an
// axis in a typed slice and range over it without type assertions:
//
//	betas := []float64{0.1, 0.3, 1}
//	grid := lab.Grid{lab.Vary("Beta", betas...), lab.Vary("Method", lab.DPO, lab.PDPO)}
//	for _, beta := range betas { … t.One("Beta", beta, "Method", lab.DPO) … }
//
// Untyped constants take the widest kind among them (Vary("Beta", 1, 0.5) is
// a float64 axis); values of different types need T = any: Vary[any]("Method", "PDPO", lab.DPO).
func Vary[T any](field string, values ...T) Axis {
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = v
	}
	return Axis{Field: field, Values: vs}
}

// Grid is the Cartesian product of its axes: Configs(base) sets every
// combination of the axes' values on base, the last axis varying fastest.
// Seeds are a field like any other: Vary("Seed", 1, 2, 3) replicates every
// other combination three times.
type Grid []Axis

// Size returns the number of configurations of g (1 for an empty grid).
func (g Grid) Size() int {
	n := 1
	for _, a := range g {
		n *= len(a.Values)
	}
	return n
}

// Fields returns the axes' field names in order.
func (g Grid) Fields() []string {
	out := make([]string, len(g))
	for i, a := range g {
		out[i] = a.Field
	}
	return out
}

// Configs returns base with every combination of the grid's values applied,
// in row-major order (the last axis fastest), and the values of each
// combination in axis order. An unknown or repeated field, an empty axis, or
// a value that does not fit its field is an error naming the axis and value.
func (g Grid) Configs(base Config) ([]Config, [][]any, error) {
	seen := map[string]bool{}
	for i, a := range g {
		if seen[a.Field] {
			return nil, nil, fmt.Errorf("lab: Grid axis %d: field %q appears twice", i, a.Field)
		}
		seen[a.Field] = true
		if len(a.Values) == 0 {
			return nil, nil, fmt.Errorf("lab: Grid axis %d (%s) has no values", i, a.Field)
		}
		for j, v := range a.Values {
			probe := base
			if err := setConfigField(&probe, a.Field, v); err != nil {
				return nil, nil, fmt.Errorf("lab: Grid axis %d (%s) value %d: %w", i, a.Field, j, err)
			}
		}
	}
	n := g.Size()
	cfgs := make([]Config, 0, n)
	vals := make([][]any, 0, n)
	idx := make([]int, len(g))
	for range n {
		cfg := base
		row := make([]any, len(g))
		for i, a := range g {
			row[i] = a.Values[idx[i]]
			_ = setConfigField(&cfg, a.Field, row[i]) // checked above
		}
		cfgs = append(cfgs, cfg)
		vals = append(vals, row)
		for i := len(g) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(g[i].Values) {
				break
			}
			idx[i] = 0
		}
	}
	return cfgs, vals, nil
}

// setConfigField sets cfg.<field> = v, converting v as Vary documents.
func setConfigField(cfg *Config, field string, v any) error {
	f := reflect.ValueOf(cfg).Elem().FieldByName(field)
	if !f.IsValid() || !f.CanSet() {
		return fmt.Errorf("Config has no field %q", field)
	}
	if v == nil {
		return fmt.Errorf("Config.%s: nil value", field)
	}
	rv := reflect.ValueOf(v)
	ft := f.Type()
	if rv.Type() == ft {
		f.Set(rv)
		return nil
	}
	if s, ok := v.(string); ok && isIntKind(ft.Kind()) {
		// An enumerated constant by its name, from the enum tables (method.go).
		c, known, err := enumValue(ft, s)
		if !known {
			return fmt.Errorf("Config.%s (%v): %q is not a constant name (the field is not enumerated)", field, ft, s)
		}
		if err != nil {
			return fmt.Errorf("Config.%s: %w", field, err)
		}
		f.SetInt(c)
		return nil
	}
	switch {
	case isIntKind(ft.Kind()) && isIntKind(rv.Kind()):
		f.SetInt(rv.Int())
		return nil
	case isIntKind(ft.Kind()) && isUintKind(rv.Kind()):
		f.SetInt(int64(rv.Uint()))
		return nil
	case isIntKind(ft.Kind()) && isFloatKind(rv.Kind()):
		x := rv.Float()
		if x != float64(int64(x)) {
			return fmt.Errorf("Config.%s (%v): %v is not a whole number", field, ft, x)
		}
		f.SetInt(int64(x))
		return nil
	case isFloatKind(ft.Kind()) && isIntKind(rv.Kind()):
		f.SetFloat(float64(rv.Int()))
		return nil
	case isFloatKind(ft.Kind()) && isUintKind(rv.Kind()):
		f.SetFloat(float64(rv.Uint()))
		return nil
	case isFloatKind(ft.Kind()) && isFloatKind(rv.Kind()):
		f.SetFloat(rv.Float())
		return nil
	case rv.Type().ConvertibleTo(ft) && rv.Kind() == ft.Kind():
		f.Set(rv.Convert(ft))
		return nil
	}
	return fmt.Errorf("Config.%s (%v): value %v of type %T does not fit", field, ft, v, v)
}

// configField returns cfg.<field> as an interface value, or nil when Config
// has no such field.
func configField(cfg Config, field string) any {
	f := reflect.ValueOf(cfg).FieldByName(field)
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	return f.Interface()
}

func isIntKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Int64
}

func isUintKind(k reflect.Kind) bool {
	return k >= reflect.Uint && k <= reflect.Uintptr
}

func isFloatKind(k reflect.Kind) bool {
	return k == reflect.Float32 || k == reflect.Float64
}
