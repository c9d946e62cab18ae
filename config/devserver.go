package config

import "slices"

// DevServerSQLitePragmas are the SQLite settings of the Temporal dev
// server that `portal dev` (make run), the tests and the benchmarks
// start: a write-ahead log instead of a rollback journal, and commits
// that reach the operating system without waiting for the disk. A bulk
// job's parent starting abandoned children went from about 14 to about
// 66 a second on the same dev server with them. The cost: a power loss
// (not a crash of the server) can lose the last moments of a
// development database's history, which a dev server can afford.
var DevServerSQLitePragmas = []string{"journal_mode=wal", "synchronous=normal"}

// DevServerDynamicConfig is the dev server's dynamic configuration that
// differs from the CLI's. The CLI makes the server read the search
// attributes' definitions from its database on every use, so that one
// added while it runs is seen at once; a production server caches them.
// Every start, upsert and visibility record of an invitation uses them.
// The dev servers the project starts define the portal's search
// attributes when they create their database (--search-attribute), and
// one added later (an older .data/temporal.db) is waited for by
// RegisterSearchAttributes, so they cache them like a production server:
// about a tenth less of the dev server's CPU per invite and per accept,
// measured side by side.
var DevServerDynamicConfig = []string{"system.forceSearchAttributesCacheRefreshOnRead=false"}

// DevServerOnePartition gives each task queue of a new dev server
// database one partition instead of four. A task written to a partition
// where no poll waits stays there for about 2 s, and a worker's pollers,
// all busy in a burst, leave some of four partitions without one; on a
// server of one process, partitions spread nothing. `make bench` compares
// the two (README, "Task queue partitions"). A rate-limited queue (the
// mail task queue) keeps its whole rate. Only for a database made with
// it: tasks waiting in the other three partitions of an older one would
// never be read again.
var DevServerOnePartition = []string{"matching.numTaskqueueReadPartitions=1", "matching.numTaskqueueWritePartitions=1"}

// DevServerArgs are the dev server's command-line flags for those
// settings; onePartition adds DevServerOnePartition, for a database made
// with it (one in memory, always).
func DevServerArgs(onePartition bool) []string {
	dynamic := DevServerDynamicConfig
	if onePartition {
		dynamic = append(slices.Clone(dynamic), DevServerOnePartition...)
	}
	args := make([]string, 0, 2*(len(DevServerSQLitePragmas)+len(dynamic)))
	for _, p := range DevServerSQLitePragmas {
		args = append(args, "--sqlite-pragma", p)
	}
	for _, v := range dynamic {
		args = append(args, "--dynamic-config-value", v)
	}
	return args
}
