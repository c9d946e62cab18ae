package api

import (
	"bufio"
	"io"
)

// maxImportRecordBytes bounds one row of an import file: a longer row
// (a field of a million characters, say) is a rejected row, and is never
// held in memory whole.
const maxImportRecordBytes = 64 << 10

// recordTooLong stands in for a row longer than the cap. It holds a NUL,
// which no row that reaches the checks can hold.
const recordTooLong = "\x00row too long"

// recordCapper hands the CSV parser one record at a time, each at most
// limit bytes; it follows quotes, so a record ends at the first newline
// outside them. A record over the cap is skipped to its end and replaced
// by recordTooLong followed by as many newlines as it spanned, so the
// line numbers of the rows after it stay true.
type recordCapper struct {
	r        *bufio.Reader
	limit    int
	rec, out []byte
	inQuotes bool
	err      error
}

func capRecords(r io.Reader, limit int) io.Reader {
	return &recordCapper{r: bufio.NewReader(r), limit: limit}
}

func (rc *recordCapper) Read(p []byte) (int, error) {
	for len(rc.out) == 0 {
		if rc.err != nil {
			return 0, rc.err
		}
		rc.next()
	}
	n := copy(p, rc.out)
	rc.out = rc.out[n:]
	return n, nil
}

// next reads one record into out.
func (rc *recordCapper) next() {
	rc.rec = rc.rec[:0]
	newlines, over := 0, false
	for {
		b, err := rc.r.ReadByte()
		if err != nil {
			rc.err = err
			break
		}
		switch b {
		case '"':
			rc.inQuotes = !rc.inQuotes
		case '\n':
			newlines++
		}
		if !over {
			rc.rec = append(rc.rec, b)
			if len(rc.rec) > rc.limit {
				over, rc.rec = true, rc.rec[:0]
			}
		}
		if b == '\n' && !rc.inQuotes {
			break
		}
	}
	if over {
		rc.rec = append(rc.rec[:0], recordTooLong...)
		for range newlines {
			rc.rec = append(rc.rec, '\n')
		}
		rc.inQuotes = false
	}
	rc.out = rc.rec
}
