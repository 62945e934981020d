package lab

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/robustpo/robustpo/datasets"
)

// Version is the lab's version; it is part of every run-cache key, so changing
// the training code's results means bumping it.
const Version = "0.2.0"

// NoCacheEnv is the environment variable that disables the run cache when "1".
const NoCacheEnv = "ROBUSTPO_NO_CACHE"

// CacheDirEnv overrides the run-cache directory.
const CacheDirEnv = "ROBUSTPO_CACHE_DIR"

// CacheDir returns the run-cache directory: $ROBUSTPO_CACHE_DIR when set,
// otherwise <os.UserCacheDir()>/robustpo/runs (e.g. ~/.cache/robustpo/runs on
// Linux), or <os.TempDir()>/robustpo-runs when there is no user cache dir.
// Each finished run is one JSON file named by the SHA-256 of (Config, dataset
// fingerprint, backend name, Version).
func CacheDir() string {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "robustpo", "runs")
	}
	return filepath.Join(os.TempDir(), "robustpo-runs")
}

// ClearCache deletes every cached run in CacheDir, and the cached
// references and reward margins of sequence runs.
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
		if ext := filepath.Ext(e.Name()); ext == ".json" || ext == ".gob" {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("lab: ClearCache: %w", err)
			}
		}
	}
	return nil
}

// cacheKey hashes the defaulted config (without NoCache), the dataset, the
// backend and Version.
func cacheKey(cfg Config, data *datasets.FiniteData, backend string) string {
	cfg.NoCache = false
	b, _ := json.Marshal(cfg) // a Config of plain fields always marshals
	h := sha256.New()
	fmt.Fprintf(h, "robustpo-lab %s\nbackend %s\ndata %s\nconfig %s\n", Version, backend, data.Fingerprint(), b)
	return hex.EncodeToString(h.Sum(nil))
}

// loadCached returns the cached run for key, if present and readable.
func loadCached(key string) (*Run, bool) {
	b, err := os.ReadFile(filepath.Join(CacheDir(), key+".json"))
	if err != nil {
		return nil, false
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil || run.History == nil {
		return nil, false
	}
	run.Cached = true
	return &run, true
}

// storeCached writes run atomically (temp file + rename) under key.
func storeCached(key string, run *Run) error {
	dir := CacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating cache dir %s: %w", dir, err)
	}
	b, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("encoding run %q: %w", run.Label, err)
	}
	tmp, err := os.CreateTemp(dir, key+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing cache %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing cache %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, key+".json")); err != nil {
		return fmt.Errorf("writing cache: %w", err)
	}
	return nil
}
