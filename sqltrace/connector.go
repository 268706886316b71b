package sqltrace

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"sync"
)

// connector is a traced driver.Connector.
type connector struct {
	inner driver.Connector
	t     *tracer
	drv   driver.Driver
}

// connectorCloser is a connector whose inner connector is an io.Closer,
// so that sql.DB.Close closes it.
type connectorCloser struct{ *connector }

func (c connectorCloser) Close() error { return c.inner.(io.Closer).Close() }

// Wrap returns a connector whose connections are traced. A connector that
// is already traced is returned as it is.
func Wrap(c driver.Connector, cfg Config) driver.Connector {
	switch c.(type) {
	case *connector, connectorCloser:
		return c
	}
	t := newTracer(cfg, c.Driver())
	w := &connector{inner: c, t: t}
	w.drv = wrapDriverWith(c.Driver(), cfg, t)
	if _, ok := c.(io.Closer); ok {
		return connectorCloser{w}
	}
	return w
}

// Connect opens a connection; inside a traced call the opening is a
// subsegment of its own, so connection failures show as faults.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	started := c.t.now()
	sctx, span := c.t.start(ctx, nil, false)
	conn, err := c.inner.Connect(sctx)
	if span != nil {
		span.AddMetadataToNamespace("sql", "operation", "connect")
		c.t.finish(span, c.t.base.Load(), err, started)
	}
	if err != nil {
		return nil, err
	}
	c.t.fetchVersion(ctx, conn, c.inner.Connect)
	return wrapConn(conn, c.t), nil
}

// Driver returns the traced driver.
func (c *connector) Driver() driver.Driver { return c.drv }

// tracedDriver is a traced driver.Driver, for sql.Register.
type tracedDriver struct {
	inner driver.Driver
	cfg   Config
	t     *tracer // shared with a connector; nil for registered drivers

	mu      sync.Mutex
	tracers map[string]*tracer // by DSN, for Open
}

// tracedDriverContext is a tracedDriver whose inner driver implements
// driver.DriverContext.
type tracedDriverContext struct{ *tracedDriver }

// OpenConnector returns a traced connector for dsn.
func (d tracedDriverContext) OpenConnector(dsn string) (driver.Connector, error) {
	c, err := d.inner.(driver.DriverContext).OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	cfg := d.cfg
	if cfg.DSN == "" {
		cfg.DSN = dsn
	}
	return Wrap(c, cfg), nil
}

// WrapDriver returns a driver whose connections are traced, to register
// with sql.Register under a name of its own.
func WrapDriver(d driver.Driver, cfg Config) driver.Driver {
	switch d.(type) {
	case *tracedDriver, tracedDriverContext:
		return d
	}
	return wrapDriverWith(d, cfg, nil)
}

func wrapDriverWith(d driver.Driver, cfg Config, t *tracer) driver.Driver {
	w := &tracedDriver{inner: d, cfg: cfg, t: t}
	if _, ok := d.(driver.DriverContext); ok {
		return tracedDriverContext{w}
	}
	return w
}

// maxDriverTracers bounds the per-DSN tracers of a registered driver.
const maxDriverTracers = 64

// Open opens a traced connection to dsn.
func (d *tracedDriver) Open(dsn string) (driver.Conn, error) {
	c, err := d.inner.Open(dsn)
	if err != nil {
		return nil, err
	}
	t := d.t
	if t == nil {
		d.mu.Lock()
		t = d.tracers[dsn]
		if t == nil {
			cfg := d.cfg
			cfg.DSN = dsn
			t = newTracer(cfg, d.inner)
			if d.tracers == nil || len(d.tracers) >= maxDriverTracers {
				d.tracers = make(map[string]*tracer)
			}
			d.tracers[dsn] = t
		}
		d.mu.Unlock()
	}
	return wrapConn(c, t), nil
}

// Unwrap returns the driver that was wrapped.
func (d *tracedDriver) Unwrap() driver.Driver { return d.inner }

// OpenXRayTraced marks a traced driver, so that other integrations (the
// GORM plugin) do not trace the same statements twice.
func (d *tracedDriver) OpenXRayTraced() {}

// dsnConnector adapts a driver without driver.DriverContext to a
// connector, as sql.Open does.
type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// Connector returns a connector for dsn on d: d's own when it implements
// driver.DriverContext, else one that calls d.Open.
func Connector(d driver.Driver, dsn string) (driver.Connector, error) {
	if dc, ok := d.(driver.DriverContext); ok {
		return dc.OpenConnector(dsn)
	}
	return dsnConnector{dsn: dsn, drv: d}, nil
}

// Open opens a traced database by driver name, like sql.Open: the
// registered driver's connector (or one calling its Open) for dsn, traced
// with cfg.
func Open(driverName, dsn string, cfg Config) (*sql.DB, error) {
	// sql.Open finds the registered driver and connects to nothing.
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	drv := db.Driver()
	db.Close()
	c, err := Connector(drv, dsn)
	if err != nil {
		return nil, err
	}
	if cfg.DriverName == "" {
		cfg.DriverName = driverName
	}
	if cfg.DSN == "" {
		cfg.DSN = dsn
	}
	return OpenDB(Wrap(c, cfg)), nil
}

// OpenDB opens a database on a traced connector, like sql.OpenDB, and
// tells the connector its pool (for Config.PoolWait).
func OpenDB(c driver.Connector) *sql.DB {
	db := sql.OpenDB(c)
	SetDB(c, db)
	return db
}
