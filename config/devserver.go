package config

// DevServerSQLitePragmas are the SQLite settings of the Temporal dev
// server that `portal dev` (make run), the tests and the benchmarks
// start: a write-ahead log instead of a rollback journal, and commits
// that reach the operating system without waiting for the disk. A bulk
// job's parent starting abandoned children went from about 14 to about
// 66 a second on the same dev server with them. The cost: a power loss
// (not a crash of the server) can lose the last moments of a
// development database's history, which a dev server can afford.
var DevServerSQLitePragmas = []string{"journal_mode=wal", "synchronous=normal"}

// DevServerArgs are the dev server's command-line flags for those
// settings.
func DevServerArgs() []string {
	args := make([]string, 0, 2*len(DevServerSQLitePragmas))
	for _, p := range DevServerSQLitePragmas {
		args = append(args, "--sqlite-pragma", p)
	}
	return args
}
