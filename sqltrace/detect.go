package sqltrace

import (
	"reflect"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/DataDog/go-sqllexer"
)

// Database types, as recorded in sql.database_type.
const (
	typePostgreSQL = "PostgreSQL"
	typeMySQL      = "MySQL"
	typeSQLite     = "SQLite"
	typeSQLServer  = "Microsoft SQL Server"
	typeOracle     = "Oracle"
	typeUnknown    = "unknown"
)

// knownDrivers maps driver packages (by import path prefix) and the names
// they register to a database type.
var knownDrivers = []struct {
	pkg    string
	names  []string
	dbType string
}{
	{"github.com/jackc/pgx", []string{"pgx", "pgx/v5", "pgx/v4"}, typePostgreSQL},
	{"github.com/lib/pq", []string{"postgres", "postgresql"}, typePostgreSQL},
	{"github.com/go-sql-driver/mysql", []string{"mysql", "mariadb"}, typeMySQL},
	{"modernc.org/sqlite", []string{"sqlite"}, typeSQLite},
	{"github.com/mattn/go-sqlite3", []string{"sqlite3"}, typeSQLite},
	{"github.com/ncruces/go-sqlite3", nil, typeSQLite},
	{"github.com/glebarez/go-sqlite", nil, typeSQLite},
	{"github.com/microsoft/go-mssqldb", []string{"sqlserver", "mssql"}, typeSQLServer},
	{"github.com/denisenkom/go-mssqldb", nil, typeSQLServer},
	{"github.com/sijms/go-ora", []string{"oracle"}, typeOracle},
	{"github.com/godror/godror", []string{"godror"}, typeOracle},
}

// driverPackage returns the import path of the type implementing v.
func driverPackage(v any) string {
	if v == nil {
		return ""
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// detectType returns the database type of a driver, from its package or,
// failing that, the name it was registered under.
func detectType(driverName, pkg string) string {
	for _, d := range knownDrivers {
		if pkg != "" && strings.HasPrefix(pkg, d.pkg) {
			return d.dbType
		}
	}
	for _, d := range knownDrivers {
		for _, n := range d.names {
			if strings.EqualFold(driverName, n) {
				return d.dbType
			}
		}
	}
	return typeUnknown
}

// dialect returns go-sqllexer's name for a database type.
func dialect(dbType string) sqllexer.DBMSType {
	switch dbType {
	case typePostgreSQL:
		return sqllexer.DBMSPostgres
	case typeMySQL:
		return sqllexer.DBMSMySQL
	case typeSQLServer:
		return sqllexer.DBMSSQLServer
	case typeOracle:
		return sqllexer.DBMSOracle
	}
	// SQLite and unknown engines: the generic lexer (single-quoted
	// strings, double-quoted identifiers) fits them.
	return ""
}

// versionQuery is the statement that reads the server's version.
func versionQuery(dbType string) string {
	switch dbType {
	case typePostgreSQL:
		return "SHOW server_version"
	case typeMySQL:
		return "SELECT VERSION()"
	case typeSQLite:
		return "SELECT sqlite_version()"
	case typeSQLServer:
		return "SELECT CAST(SERVERPROPERTY('ProductVersion') AS VARCHAR(64))"
	case typeOracle:
		return "SELECT version FROM v$instance"
	}
	return ""
}

var (
	buildInfoOnce sync.Once
	buildDeps     []*debug.Module
)

// driverVersion returns "module@version" for the module holding pkg, from
// the program's build information.
func driverVersion(pkg string) string {
	if pkg == "" {
		return ""
	}
	buildInfoOnce.Do(func() {
		if bi, ok := debug.ReadBuildInfo(); ok {
			buildDeps = append(buildDeps, &bi.Main)
			buildDeps = append(buildDeps, bi.Deps...)
		}
	})
	var best *debug.Module
	for _, m := range buildDeps {
		if m.Path == "" || !(pkg == m.Path || strings.HasPrefix(pkg, m.Path+"/")) {
			continue
		}
		if best == nil || len(m.Path) > len(best.Path) {
			best = m
		}
	}
	if best == nil {
		return pkg
	}
	if r := best.Replace; r != nil && r.Version != "" {
		return best.Path + "@" + r.Version
	}
	if best.Version == "" {
		return best.Path
	}
	return best.Path + "@" + best.Version
}
