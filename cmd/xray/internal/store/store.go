// Package store keeps segment documents in an embedded SQLite database
// (modernc.org/sqlite, no cgo) and answers the viewer's questions: trace
// lists by filter expression, whole traces, services.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Store is the document database. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	path   string
	logger *slog.Logger

	stored   atomic.Uint64
	failed   atomic.Uint64
	batches  atomic.Uint64
	gen      atomic.Uint64 // bumped by every change: Generation
	lastSize atomic.Int64

	subMu sync.Mutex
	subs  map[chan []string]struct{}
}

// MaxSubscribers bounds the live listeners (viewer tabs) at once.
const MaxSubscribers = 32

// Subscribe returns a channel that receives the trace IDs of each batch
// written from now on, and a function that ends the subscription. A slow
// listener misses batches rather than holding the writer: the channel
// holds 16 batches. It returns a nil channel when MaxSubscribers listen
// already.
func (s *Store) Subscribe() (<-chan []string, func()) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if len(s.subs) >= MaxSubscribers {
		return nil, func() {}
	}
	if s.subs == nil {
		s.subs = map[chan []string]struct{}{}
	}
	ch := make(chan []string, 16)
	s.subs[ch] = struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, ch)
			s.subMu.Unlock()
		})
	}
}

// notify tells the listeners which traces a batch wrote, without waiting.
func (s *Store) notify(docs []daemon.Document) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if len(s.subs) == 0 {
		return
	}
	var ids []string
	seen := map[string]bool{}
	for i := range docs {
		if id := docs[i].TraceID; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for ch := range s.subs {
		select {
		case ch <- ids:
		default: // a slow listener misses this batch
		}
	}
}

// schemaVersion is kept in PRAGMA user_version. Version 1 keys documents
// by trace and id: a document that reuses another trace's document id
// must not replace it there.
const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS documents (
	id          TEXT NOT NULL,
	trace_id    TEXT NOT NULL,
	parent_id   TEXT,
	is_segment  INTEGER NOT NULL,
	in_progress INTEGER NOT NULL,
	start_time  REAL NOT NULL,
	end_time    REAL,
	received    INTEGER NOT NULL,
	doc         TEXT NOT NULL,
	PRIMARY KEY (trace_id, id)
);
CREATE INDEX IF NOT EXISTS documents_trace_start ON documents(trace_id, start_time);
CREATE INDEX IF NOT EXISTS documents_received ON documents(received);
CREATE TABLE IF NOT EXISTS traces (
	trace_id    TEXT PRIMARY KEY,
	root_name   TEXT NOT NULL,
	root_level  INTEGER NOT NULL,
	start_time  REAL NOT NULL,
	end_time    REAL NOT NULL,
	http_status INTEGER,
	fault       INTEGER NOT NULL,
	error       INTEGER NOT NULL,
	throttle    INTEGER NOT NULL,
	documents   INTEGER NOT NULL,
	received    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS traces_start ON traces(start_time);
CREATE INDEX IF NOT EXISTS traces_received ON traces(received);
CREATE TABLE IF NOT EXISTS annotations (
	trace_id TEXT NOT NULL,
	key      TEXT NOT NULL,
	value    TEXT NOT NULL,
	num      REAL,
	PRIMARY KEY (trace_id, key, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS annotations_key ON annotations(key, value);
CREATE TABLE IF NOT EXISTS services (
	trace_id TEXT NOT NULL,
	name     TEXT NOT NULL,
	PRIMARY KEY (trace_id, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS services_name ON services(name);
`

// DefaultPath is the database file under the user's cache directory.
func DefaultPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "openxray", "traces.db")
}

// migrations bring a database from the version it has (the index) to the
// next.
var migrations = []string{
	// 0 → 1: documents keyed by (trace_id, id).
	`ALTER TABLE documents RENAME TO documents_v0;
	DROP INDEX IF EXISTS documents_trace;` + schema + `
	INSERT OR IGNORE INTO documents SELECT id, trace_id, parent_id, is_segment, in_progress, start_time, end_time, received, doc FROM documents_v0;
	DROP TABLE documents_v0;`,
}

// Open opens (or creates) the database at path; ":memory:" keeps it in
// memory. The database holds what the traced programs sent, so the file
// (and the directory, when Open creates it) can be read by its owner only.
func Open(path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.Default()
	}
	dsn := path
	if path != ":memory:" {
		if err := privateFile(path); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		dsn = "file:" + path
	}
	dsn += "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(OFF)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if path == ":memory:" {
		db.SetMaxOpenConns(1) // one connection, one in-memory database
	}
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: creating the schema in %s: %w", path, err)
	}
	return &Store{db: db, path: path, logger: logger}, nil
}

// privateFile creates path's directory (0700) if it is missing, and the
// file itself (0600) before SQLite does, which would create it readable
// by every user; SQLite gives its -wal and -shm files the same mode.
func privateFile(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	// A file an earlier version created is made private too.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// migrate creates the schema, or brings an older one up to date.
func migrate(db *sql.DB) error {
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'documents'`).Scan(&tables); err != nil {
		return err
	}
	if tables == 0 {
		version = schemaVersion // a new database
		if _, err := db.Exec(schema); err != nil {
			return err
		}
	}
	for ; version < schemaVersion; version++ {
		if _, err := db.Exec(`BEGIN; ` + migrations[version] + `; COMMIT`); err != nil {
			db.Exec(`ROLLBACK`)
			return fmt.Errorf("migrating to version %d: %w", version+1, err)
		}
	}
	if _, err := db.Exec(schema); err != nil { // tables added since
		return err
	}
	_, err := db.Exec(`PRAGMA user_version = ` + strconv.Itoa(schemaVersion))
	return err
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Batching limits of the writer.
const (
	batchSize  = 500
	batchDelay = 50 * time.Millisecond
)

// Run writes the documents from in, in batches of up to 500 or every 50
// ms, until in is closed or ctx is done.
func (s *Store) Run(ctx context.Context, in <-chan daemon.Document) {
	batch := make([]daemon.Document, 0, batchSize)
	timer := time.NewTimer(batchDelay)
	defer timer.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := s.Write(context.Background(), batch); err != nil {
			s.failed.Add(uint64(len(batch)))
			s.logger.Error("store: writing documents", "err", err, "documents", len(batch))
		}
		clear(batch)
		batch = batch[:0]
	}
	for {
		select {
		case d, ok := <-in:
			if !ok {
				flush()
				return
			}
			batch = append(batch, d)
			if len(batch) >= batchSize {
				flush()
			}
		case <-timer.C:
			flush()
			timer.Reset(batchDelay)
		case <-ctx.Done():
			// Take what is already queued, then stop.
			for {
				select {
				case d, ok := <-in:
					if ok {
						batch = append(batch, d)
						if len(batch) >= batchSize {
							flush()
						}
						continue
					}
				default:
				}
				break
			}
			flush()
			return
		}
	}
}

// Write stores documents in one transaction: each replaces an in-progress
// version of itself, never a complete one, and updates its trace's summary.
func (s *Store) Write(ctx context.Context, docs []daemon.Document) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insDoc, err := tx.PrepareContext(ctx, `INSERT INTO documents (id, trace_id, parent_id, is_segment, in_progress, start_time, end_time, received, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(trace_id, id) DO UPDATE SET parent_id = excluded.parent_id, is_segment = excluded.is_segment, in_progress = excluded.in_progress,
			start_time = excluded.start_time, end_time = excluded.end_time, received = excluded.received, doc = excluded.doc
		WHERE documents.in_progress = 1 OR excluded.in_progress = 0`)
	if err != nil {
		return err
	}
	upTrace, err := tx.PrepareContext(ctx, `INSERT INTO traces (trace_id, root_name, root_level, start_time, end_time, http_status, fault, error, throttle, documents, received)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT(trace_id) DO UPDATE SET
			root_name = CASE WHEN excluded.root_level > traces.root_level THEN excluded.root_name ELSE traces.root_name END,
			http_status = CASE WHEN excluded.root_level > traces.root_level OR traces.http_status IS NULL THEN coalesce(excluded.http_status, traces.http_status) ELSE traces.http_status END,
			root_level = max(traces.root_level, excluded.root_level),
			start_time = min(traces.start_time, excluded.start_time),
			end_time = max(traces.end_time, excluded.end_time),
			fault = traces.fault | excluded.fault,
			error = traces.error | excluded.error,
			throttle = traces.throttle | excluded.throttle,
			documents = traces.documents + 1,
			received = excluded.received`)
	if err != nil {
		return err
	}
	insAnn, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO annotations (trace_id, key, value, num) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insSvc, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO services (trace_id, name) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	now := time.Now().UnixNano()
	for i := range docs {
		d := &docs[i]
		end := d.EndTime
		if end == 0 || d.InProgress {
			end = d.StartTime
		}
		var parent any
		if d.ParentID != "" {
			parent = d.ParentID
		}
		if _, err := insDoc.ExecContext(ctx, d.ID, d.TraceID, parent, b2i(d.IsSegment()), b2i(d.InProgress), d.StartTime, nullFloat(d.EndTime), now, string(d.Raw)); err != nil {
			return err
		}
		level := 0
		if d.IsSegment() {
			level = 1
			if d.ParentID == "" {
				level = 2
			}
		}
		var status any
		var fault, errFlag, throttle bool
		d.Walk(func(e *daemon.Entity) {
			fault = fault || e.Fault
			errFlag = errFlag || e.Error
			throttle = throttle || e.Throttle
			for k, v := range e.Annotations {
				str, num := annotationValue(v)
				if _, err2 := insAnn.ExecContext(ctx, d.TraceID, k, str, num); err2 != nil && err == nil {
					err = err2
				}
			}
		})
		if err != nil {
			return err
		}
		if d.IsSegment() && d.HTTP != nil && d.HTTP.Response != nil && d.HTTP.Response.Status > 0 {
			status = int(d.HTTP.Response.Status)
		}
		if _, err := upTrace.ExecContext(ctx, d.TraceID, d.Name, level, d.StartTime, end, status, b2i(fault), b2i(errFlag), b2i(throttle), now); err != nil {
			return err
		}
		if d.IsSegment() {
			if _, err := insSvc.ExecContext(ctx, d.TraceID, d.Name); err != nil {
				return err
			}
		}
	}
	// The generation changes both before the commit and after it, so that
	// no answer computed while it is under way is taken for current, and
	// no reader that sees the new rows sees the old generation.
	s.gen.Add(1)
	if err := tx.Commit(); err != nil {
		return err
	}
	s.gen.Add(1)
	s.stored.Add(uint64(len(docs)))
	s.batches.Add(1)
	s.notify(docs)
	return nil
}

func annotationValue(v any) (string, any) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), v
	}
	return fmt.Sprint(v), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullFloat(f float64) any {
	if f == 0 {
		return nil
	}
	return f
}

// Prune deletes the traces last written before cutoff, with their
// documents and indexes, and returns how many traces went.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	c := cutoff.UnixNano()
	for _, q := range []string{
		`DELETE FROM documents WHERE trace_id IN (SELECT trace_id FROM traces WHERE received < ?)`,
		`DELETE FROM annotations WHERE trace_id IN (SELECT trace_id FROM traces WHERE received < ?)`,
		`DELETE FROM services WHERE trace_id IN (SELECT trace_id FROM traces WHERE received < ?)`,
	} {
		if _, err := tx.ExecContext(ctx, q, c); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM traces WHERE received < ?`, c)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	s.gen.Add(1) // before and after, as in Write
	defer s.gen.Add(1)
	return n, tx.Commit()
}

// Generation returns a number that changes whenever what is stored
// changes (a batch written, traces pruned): an answer computed at one
// generation holds until the next.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// PruneEvery deletes traces older than retention every interval until ctx
// is done.
func (s *Store) PruneEvery(ctx context.Context, retention, interval time.Duration) {
	if retention <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Prune(ctx, time.Now().Add(-retention)); err != nil && !errors.Is(err, context.Canceled) {
				s.logger.Error("store: pruning", "err", err)
			} else if n > 0 {
				s.logger.Info("store: pruned old traces", "traces", n)
			}
		}
	}
}

// Stats describes the store.
type Stats struct {
	Path      string `json:"path"`
	Stored    uint64 `json:"documents_stored"`
	Failed    uint64 `json:"documents_failed"`
	Batches   uint64 `json:"batches"`
	Traces    int64  `json:"traces"`
	Documents int64  `json:"documents"`
	SizeBytes int64  `json:"size_bytes"`
}

// Stats counts what is stored.
func (s *Store) Stats(ctx context.Context) Stats {
	st := Stats{Path: s.path, Stored: s.stored.Load(), Failed: s.failed.Load(), Batches: s.batches.Load()}
	s.db.QueryRowContext(ctx, `SELECT count(*) FROM traces`).Scan(&st.Traces)
	s.db.QueryRowContext(ctx, `SELECT count(*) FROM documents`).Scan(&st.Documents)
	var pages, size int64
	if s.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages) == nil && s.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size) == nil {
		st.SizeBytes = pages * size
	}
	return st
}
