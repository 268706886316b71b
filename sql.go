package xray

import (
	"database/sql"

	"github.com/openxray/xray/internal/sqltrace"
)

// SQLContext opens a database like sql.Open, with every call traced: each
// query, statement, transaction, ping and connection opened inside a
// segment becomes a subsegment with an sql block (URL without password,
// database type and version, driver version, user, and the statement with
// its literal values replaced). Package xraysql has the options.
func SQLContext(driverName, dataSourceName string) (*sql.DB, error) {
	// sql.Open finds the registered driver and connects to nothing.
	db, err := sql.Open(driverName, dataSourceName)
	if err != nil {
		return nil, err
	}
	drv := db.Driver()
	db.Close()
	c, err := sqltrace.Connector(drv, dataSourceName)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(sqltrace.Wrap(c, sqltrace.Config{DriverName: driverName, DSN: dataSourceName})), nil
}
