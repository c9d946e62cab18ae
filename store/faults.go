package store

import (
	"errors"

	"github.com/uptrace/bun/driver/pgdriver"
)

// IsOurFault reports whether err is Postgres refusing what was asked (a
// query, a constraint, a trigger): a defect to fix, not an outage to wait
// out. An unreachable, restarting or overloaded server is not: its
// SQLSTATE classes 08 (connection), 53 (resources), 57 (operator
// intervention) and 58 (system), and any error without a SQLSTATE (a
// network error, a deadline), say try again.
func IsOurFault(err error) bool {
	var pgErr pgdriver.Error
	if !errors.As(err, &pgErr) {
		return false
	}
	code := pgErr.Field('C')
	if len(code) < 2 {
		return false
	}
	switch code[:2] {
	case "08", "53", "57", "58":
		return false
	}
	return true
}
