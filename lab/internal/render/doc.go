// Package render draws the lab's figures: the lab describes a figure as a
// Figure of Panels (lines with markers and error bars, grouped bars,
// histograms, heatmaps) built from its data, and render lays it out and
// draws it with gonum/plot.
//
// Layout: the panels in a grid (DefaultPanelWidth × DefaultPanelHeight each,
// DefaultColumns per row, unless the Figure says otherwise), under a header
// of the title, one legend shared by all panels and, for heatmaps, one colour
// bar keying the colour scale they share. Text is Liberation Sans (falling
// back to Arial, Helvetica, sans-serif in SVG) sized with the panel's width,
// with _{…} and ^{…} drawn as sub- and superscripts (see PlainText). Axes
// carry few, readable ticks (linearTicks, logTicks); runs take the
// colour-blind-safe Okabe–Ito colours and heatmaps viridis.
//
// Output: SVG, PNG at twice the layout size and PDF (with subsetted UTF-8
// fonts, so π and β survive and can be searched), written by Save, and, in a
// GoNB notebook, one display_data bundle of all three plus text/plain
// (Bundle, Display, Send). Outside a notebook Display does nothing.
//
// The package knows nothing of runs, tables or configs.
package render
