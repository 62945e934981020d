package datasets

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// benchLines is the size of the generated benchmark files.
const benchLines = 100_000

// writeBenchFile writes benchLines records of format to a fresh file and
// returns its path and size in bytes.
func writeBenchFile(b *testing.B, format Format, gz bool) (string, int64) {
	b.Helper()
	name := "bench.jsonl"
	if gz {
		name += ".gz"
	}
	path := filepath.Join(b.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriter(w)
	for i := range benchLines {
		switch format {
		case FormatTRL:
			fmt.Fprintf(bw, `{"prompt":"Question %d: how do I keep basil alive on a windowsill in winter?","chosen":"Give it six hours of sun and water when the soil is dry (%d).","rejected":"Basil is hard (%d)."}`+"\n", i, i, i)
		case FormatHH:
			fmt.Fprintf(bw, `{"chosen":"\n\nHuman: Question %d: how do I keep basil alive?\n\nAssistant: Give it six hours of sun and water when the soil is dry.","rejected":"\n\nHuman: Question %d: how do I keep basil alive?\n\nAssistant: Basil is hard."}`+"\n", i, i)
		case FormatTLDR:
			fmt.Fprintf(bw, `{"info":{"id":"t3_%d","subreddit":"gardening","title":"Basil keeps dying","post":"My basil on the windowsill wilts every winter, post %d."},"summaries":[{"text":" Basil wilts in winter.","policy":"a"},{"text":" My basil on the windowsill wilts every winter.","policy":"b"}],"choice":%d}`+"\n", i, i, i%2)
		}
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
	}
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path, st.Size()
}

// BenchmarkLoadJSONL loads a generated 100k-line file per format and reports
// records/s and the bytes and allocations per record.
func BenchmarkLoadJSONL(b *testing.B) {
	for _, tc := range []struct {
		format Format
		gz     bool
	}{{FormatTRL, false}, {FormatHH, false}, {FormatTLDR, false}, {FormatTRL, true}} {
		name := tc.format.String()
		if tc.gz {
			name += ".gz"
		}
		b.Run(name, func(b *testing.B) {
			path, size := writeBenchFile(b, tc.format, tc.gz)
			b.SetBytes(size)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				pairs, err := LoadJSONL(path)
				if err != nil {
					b.Fatal(err)
				}
				if len(pairs) != benchLines {
					b.Fatalf("loaded %d records, want %d", len(pairs), benchLines)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			records := float64(b.N) * benchLines
			b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/records, "B/record")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
		})
	}
}
