// Package cellpkg is a tiny package that notebook tests import from a cell,
// to check that cells resolve this repository's packages through go.work.
package cellpkg

// Triple returns 3*x.
func Triple(x int) int { return 3 * x }
