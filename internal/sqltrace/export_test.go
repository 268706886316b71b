package sqltrace

import "github.com/DataDog/go-sqllexer"

type sqllexerDBMS = sqllexer.DBMSType
