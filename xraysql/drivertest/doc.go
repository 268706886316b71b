// Package drivertest tests package xraysql with real drivers against real
// servers: modernc.org/sqlite (embedded), PostgreSQL through
// github.com/jackc/pgx/v5/stdlib and github.com/lib/pq, and MariaDB through
// github.com/go-sql-driver/mysql. It is a module of its own so that the
// drivers never become requirements of the core module.
//
// The servers are the ones scripts/test starts: PostgreSQL on
// 127.0.0.1:5432 (user postgres, database test) and MariaDB on
// 127.0.0.1:3306 (user root, database test). XRAY_TEST_POSTGRES_DSN and
// XRAY_TEST_MYSQL_DSN override them.
package drivertest
