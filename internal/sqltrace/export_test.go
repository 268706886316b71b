package sqltrace
