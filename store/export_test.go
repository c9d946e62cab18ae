package store

// Cursor encoders for the tests in package store_test, which forge cursors
// the store would issue and cursors it would not.
var (
	EncodeIDCursor   = encodeIDCursor
	EncodeTimeCursor = encodeTimeCursor
)
