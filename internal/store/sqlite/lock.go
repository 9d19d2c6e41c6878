package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrInUse: another process holds the exclusive lock of a database.
var ErrInUse = errors.New("another gatehouse process is using the database")

// Lock takes the lock that makes a node the only server of the database at
// path: an exclusive OS lock on path+".lock", held until release or until
// the process ends (the OS drops it then, so a crash leaves nothing to
// clean up). SQLite's own locks let two servers share a file, but each node
// caches what it may assume about the store (the first tenant, key sets)
// and one writer connection per process is what keeps writes from failing;
// two servers on one file are a mistake to refuse, not to survive. The
// command-line tools do not take it, so they work while a server runs.
func Lock(path string) (release func() error, err error) {
	name := path + ".lock"
	// The lock is taken before Open, which would make the directory.
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	busy, err := lockFile(f)
	if err != nil || busy {
		_ = f.Close()
		if busy {
			return nil, fmt.Errorf("%w %s (it holds %s); stop it or give this one another --data-dir or --store", ErrInUse, path, name)
		}
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return f.Close, nil
}
