package api

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxImportRecordBytes bounds one row of an import file: a longer row
// (a field of a million characters, say) is a rejected row, and is never
// held in memory whole.
const maxImportRecordBytes = 1 << 20

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

// next reads one record into out, a line at a time: a newline ends the
// record when the quotes before it are balanced.
func (rc *recordCapper) next() {
	rc.rec = rc.rec[:0]
	newlines, over := 0, false
	for {
		chunk, err := rc.r.ReadSlice('\n')
		if bytes.Count(chunk, quote)%2 == 1 {
			rc.inQuotes = !rc.inQuotes
		}
		if !over {
			if len(rc.rec)+len(chunk) > rc.limit {
				over, rc.rec = true, rc.rec[:0]
			} else {
				rc.rec = append(rc.rec, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // a line longer than the buffer: read on
		}
		if err != nil {
			rc.err = err
			break
		}
		newlines++
		if !rc.inQuotes {
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

var quote = []byte{'"'}
