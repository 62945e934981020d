package lab

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

// Version is the lab's version; it is part of every run-cache key, so changing
// the training code's results means bumping it.
const Version = "0.3.1"

// CacheFormat is the layout version of run-cache entries: the envelope every
// entry is written in (its key inputs, a SHA-256 of its payload, the payload)
// and the payload's own layout, the JSON of Run (with the types it contains)
// and the encodings of the sequence caches. Like Version it is recorded in
// every entry and hashed into every key, so entries of another layout are
// never read as this one. Version says the results changed; CacheFormat says
// the bytes did: bump it whenever a field of Run, or of a type inside it,
// changes (TestRunJSONLayout fails until it is bumped and the layout it
// records is updated).
const CacheFormat = 5

// NoCacheEnv is the environment variable that disables the run cache when "1".
const NoCacheEnv = "ROBUSTPO_NO_CACHE"

// CacheDirEnv overrides the run-cache directory.
const CacheDirEnv = "ROBUSTPO_CACHE_DIR"

// CacheDir returns the run-cache directory: $ROBUSTPO_CACHE_DIR when set,
// otherwise <os.UserCacheDir()>/robustpo/runs (e.g. ~/.cache/robustpo/runs on
// Linux), or <os.TempDir()>/robustpo-runs when there is no user cache dir.
// Each finished run is one JSON file named by the SHA-256 of its key inputs
// (Config, dataset fingerprint, backend name, Version, CacheFormat).
func CacheDir() string {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "robustpo", "runs")
	}
	return filepath.Join(os.TempDir(), "robustpo-runs")
}

// ClearCache deletes every cached run in CacheDir, the cached references and
// reward margins of sequence runs, partial runs and leftover temporary files.
func ClearCache() error {
	dir := CacheDir()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lab: ClearCache: %w", err)
	}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); ext == ".json" || ext == ".gob" || ext == ".tmp" {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("lab: ClearCache: %w", err)
			}
		}
	}
	return nil
}

// cacheInputs are what a cache entry's key is the SHA-256 of. Every entry
// records them, and a load serves an entry only when they equal the
// requested ones.
type cacheInputs struct {
	// Kind names the cache: "run" (finite), "seq run", "seqref", "seqrm".
	Kind    string `json:"kind"`
	Format  int    `json:"format"`
	Version string `json:"version"`
	Backend string `json:"backend"`
	// Data is the dataset's (or task's) fingerprint, Eval the evaluation
	// prompts' (sequence runs).
	Data string `json:"data"`
	Eval string `json:"eval,omitempty"`
	// Config is the defaulted Config (NoCache false), or the part of it an
	// artifact depends on, as JSON.
	Config json.RawMessage `json:"config"`
}

// newCacheInputs returns the inputs of an entry of kind for config; the
// error (a config that does not encode as JSON, e.g. a NaN field) means the
// entry cannot be keyed and the cache is not used.
func newCacheInputs(kind, backend, data, eval string, config any) (cacheInputs, error) {
	b, err := json.Marshal(config)
	if err != nil {
		return cacheInputs{}, fmt.Errorf("lab: cache key of %s: %w", kind, err)
	}
	return cacheInputs{Kind: kind, Format: CacheFormat, Version: Version, Backend: backend, Data: data, Eval: eval, Config: b}, nil
}

// key returns the hex SHA-256 of the inputs' JSON.
func (in cacheInputs) key() string {
	b, _ := json.Marshal(in) // plain fields and valid JSON: cannot fail
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cacheEntry is the envelope of every cache file: JSON for runs and reward
// margins (Payload is then the JSON value itself), gob for the SFT reference
// (Payload the gob of a seqReference). SHA256 is the hex SHA-256 of Payload.
type cacheEntry struct {
	Format  int             `json:"format"`
	Inputs  json.RawMessage `json:"inputs"`
	SHA256  string          `json:"sha256"`
	Payload json.RawMessage `json:"payload"`
}

// encodeEntry returns the file contents of an entry for in holding payload.
func encodeEntry(in cacheInputs, payload []byte, useGob bool) ([]byte, error) {
	ib, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(payload)
	e := cacheEntry{Format: CacheFormat, Inputs: ib, SHA256: hex.EncodeToString(sum[:]), Payload: payload}
	if useGob {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(e); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return json.Marshal(e)
}

// decodeEntry returns the payload of file contents b when they are an entry
// of this CacheFormat recorded for want (when want is not nil) whose payload
// matches its checksum; otherwise an error saying what is wrong.
func decodeEntry(b []byte, want *cacheInputs, useGob bool) ([]byte, error) {
	var e cacheEntry
	if useGob {
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&e); err != nil {
			return nil, fmt.Errorf("unreadable (%v)", err)
		}
	} else if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("unreadable (%v)", err)
	}
	switch {
	case e.Format == 0 && e.Inputs == nil && e.SHA256 == "":
		return nil, errors.New("not a cache entry (no format, key inputs or checksum)")
	case e.Format != CacheFormat:
		return nil, fmt.Errorf("cache format %d, want %d", e.Format, CacheFormat)
	case e.Inputs == nil || e.SHA256 == "" || e.Payload == nil:
		return nil, errors.New("incomplete entry (key inputs, checksum or payload missing)")
	}
	sum := sha256.Sum256(e.Payload)
	if got := hex.EncodeToString(sum[:]); got != e.SHA256 {
		return nil, fmt.Errorf("checksum mismatch (payload SHA-256 %.12s…, recorded %.12s…)", got, e.SHA256)
	}
	if want != nil {
		wb, _ := json.Marshal(want)
		if d := jsonDiff(e.Inputs, wb); d != "" {
			return nil, fmt.Errorf("recorded for other key inputs (%s)", d)
		}
	}
	return e.Payload, nil
}

// jsonDiff returns "" when the JSON values a and b are equal, else the first
// difference, "config.Beta = 0.1, want 0.5".
func jsonDiff(a, b []byte) string {
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		return "unreadable: " + err.Error()
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return "unreadable: " + err.Error()
	}
	return valueDiff("", va, vb)
}

// valueDiff compares decoded JSON values a (recorded) and b (wanted) at path.
func valueDiff(path string, a, b any) string {
	at := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch va := a.(type) {
	case map[string]any:
		vb, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range va {
			keys[k] = true
		}
		for k := range vb {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			x, okA := va[k]
			y, okB := vb[k]
			switch {
			case !okA:
				return fmt.Sprintf("%s missing, want %s", at(k), jsonText(y))
			case !okB:
				return fmt.Sprintf("%s = %s, want none", at(k), jsonText(x))
			}
			if d := valueDiff(at(k), x, y); d != "" {
				return d
			}
		}
		return ""
	case []any:
		vb, ok := b.([]any)
		if !ok || len(va) != len(vb) {
			break
		}
		for i := range va {
			if d := valueDiff(at(strconv.Itoa(i)), va[i], vb[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if a == b {
			return ""
		}
	}
	if path == "" {
		path = "inputs"
	}
	return fmt.Sprintf("%s = %s, want %s", path, jsonText(a), jsonText(b))
}

// jsonText writes a decoded JSON value back as JSON, cut to 40 bytes.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// cacheFile is the temporary file an entry is written through.
type cacheFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// cacheDisk is this process's access to cache directories: how temporary
// files are created and renamed (tests inject failures), where warnings go,
// the directories where a write failed (caching is then off for them in
// this process, after one warning) and the bad entries that could not be
// removed (warned about once).
type cacheDisk struct {
	create func(dir, base string) (cacheFile, error)
	rename func(from, to string) error
	warn   io.Writer

	mu  sync.Mutex
	off map[string]bool
	bad map[string]bool
}

// disk is the process's cacheDisk. It is package state because "warn once,
// then stop trying" is a property of the process (a notebook cell), not of
// a run.
var disk = newCacheDisk()

func newCacheDisk() *cacheDisk {
	return &cacheDisk{create: createTemp, rename: os.Rename, warn: stderr{}, off: map[string]bool{}, bad: map[string]bool{}}
}

// stderr writes to os.Stderr as it is at each write.
type stderr struct{}

func (stderr) Write(p []byte) (int, error) { return os.Stderr.Write(p) }

// createTemp creates a new file <dir>/<base>.<random>.tmp with mode 0644
// (less the umask), as cache entries are meant to be shared.
func createTemp(dir, base string) (cacheFile, error) {
	for {
		name := filepath.Join(dir, base+"."+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return f, nil
	}
}

// writeFile writes b to path through a temporary file in the same directory
// (created with the directory, 0755 less the umask, when missing), synced,
// closed and renamed over path; on every failure the temporary file is
// removed.
func (c *cacheDisk) writeFile(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating cache dir %s: %w", dir, err)
	}
	tmp, err := c.create(dir, filepath.Base(path))
	if err != nil {
		return fmt.Errorf("creating a file in %s: %w", dir, err)
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := c.rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming %s: %w", tmp.Name(), err)
	}
	return nil
}

// store writes an entry for in holding payload at path, unless writing to
// its directory already failed in this process. A failure is not an error
// of the run: the first one in a directory prints one line,
// "lab: warning: cannot write the run cache in <dir> (<why>); finished runs
// are returned but not cached in this process", and turns writing off there.
func (c *cacheDisk) store(path string, in cacheInputs, payload []byte, useGob bool) {
	dir := filepath.Dir(path)
	c.mu.Lock()
	off := c.off[dir]
	c.mu.Unlock()
	if off {
		return
	}
	b, err := encodeEntry(in, payload, useGob)
	if err == nil {
		err = c.writeFile(path, b)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		delete(c.bad, path)
		return
	}
	if c.off[dir] {
		return
	}
	c.off[dir] = true
	fmt.Fprintf(c.warn, "lab: warning: cannot write the run cache in %s (%v); finished runs are returned but not cached in this process\n", dir, err)
}

// load returns the payload of the entry at path when it is present and
// verified for want (see decodeEntry) and check accepts the decoded value.
// A missing entry is a miss; a bad one is one warning line, "lab: warning:
// cache entry <path>: <what is wrong>; retraining", then removed (or, when it
// cannot be, ignored without a second warning) and a miss.
func load[T any](c *cacheDisk, path string, want cacheInputs, useGob bool, decode func([]byte) (T, error), check func(T) error) (T, bool) {
	var zero T
	b, err := os.ReadFile(path)
	if err != nil {
		return zero, false
	}
	v, err := func() (T, error) {
		payload, err := decodeEntry(b, &want, useGob)
		if err != nil {
			return zero, err
		}
		v, err := decode(payload)
		if err != nil {
			return zero, fmt.Errorf("payload unreadable (%v)", err)
		}
		if err := check(v); err != nil {
			return zero, err
		}
		return v, nil
	}()
	if err == nil {
		return v, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bad[path] {
		return zero, false
	}
	fmt.Fprintf(c.warn, "lab: warning: cache entry %s: %v; retraining\n", path, err)
	if os.Remove(path) != nil {
		c.bad[path] = true
	}
	return zero, false
}

// runSpec is what the run cache needs of one run: its key inputs (err when
// the run cannot be keyed: it is then not cached) and the checks a cached Run
// must pass beyond them (shapes against the data and the config).
type runSpec struct {
	in    cacheInputs
	err   error
	check func(*Run) error
}

// key returns the run's cache key ("" when it has none).
func (s runSpec) key() string {
	if s.err != nil {
		return ""
	}
	return s.in.key()
}

// path returns the run's entry file in CacheDir.
func (s runSpec) path() string { return filepath.Join(CacheDir(), s.key()+".json") }

// loadRun returns the cached Run of s, verified (see load and s.check).
func loadRun(s runSpec) (*Run, bool) {
	if s.err != nil {
		return nil, false
	}
	run, ok := load(disk, s.path(), s.in, false, func(b []byte) (*Run, error) {
		var run Run
		if err := json.Unmarshal(b, &run); err != nil {
			return nil, err
		}
		return &run, nil
	}, s.check)
	if ok {
		run.Cached = true
	}
	return run, ok
}

// storeRun writes run under s's key (see cacheDisk.store).
func storeRun(s runSpec, run *Run) {
	if s.err != nil || run.Interrupted {
		return
	}
	b, err := json.Marshal(run)
	if err != nil {
		disk.mu.Lock()
		fmt.Fprintf(disk.warn, "lab: warning: run %q cannot be cached: encoding it: %v\n", run.Label, err)
		disk.mu.Unlock()
		return
	}
	disk.store(s.path(), s.in, b, false)
}
