package xray

import (
	"database/sql"

	"github.com/openxray/xray/sqltrace"
)

// SQLContext opens a database like sql.Open, with every call traced: each
// query, statement, transaction, ping and connection opened inside a
// segment becomes a subsegment with an sql block (URL without password,
// database type and version, driver version, user, and the statement with
// its literal values replaced). Package xraysql has the options.
func SQLContext(driverName, dataSourceName string) (*sql.DB, error) {
	return sqltrace.Open(driverName, dataSourceName, sqltrace.Config{})
}
