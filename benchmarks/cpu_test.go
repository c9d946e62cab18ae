package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuUse is the CPU time (user and system) each process of the run has
// used so far: this one (the API and the worker), the Temporal dev
// server and Postgres (its server processes, and the ones that exited).
type cpuUse struct {
	portal, temporal, postgres time.Duration
}

// cpuMeter reads the CPU time of the run's processes, so that a phase's
// wall time can be told apart: where it goes, process by process.
type cpuMeter struct {
	temporalPID int
}

// newCPUMeter finds the dev server listening on frontend (host:port).
func newCPUMeter(frontend string) *cpuMeter {
	_, port, _ := strings.Cut(frontend, ":")
	m := &cpuMeter{}
	forEachProcess(func(pid int, _ string, cmdline []string) {
		if !slices.Contains(cmdline, "start-dev") {
			return
		}
		if i := slices.Index(cmdline, "--port"); i >= 0 && i+1 < len(cmdline) && cmdline[i+1] == port {
			m.temporalPID = pid
		}
	})
	return m
}

func (m *cpuMeter) read() cpuUse {
	var u cpuUse
	u.portal, _ = procCPU(os.Getpid())
	if m.temporalPID != 0 {
		u.temporal, _ = procCPU(m.temporalPID)
	}
	forEachProcess(func(pid int, comm string, _ []string) {
		if comm != "postgres" {
			return
		}
		// The postmaster's children's times include every backend that
		// has exited since it started.
		self, children := procCPU(pid)
		u.postgres += self + children
	})
	return u
}

func (u cpuUse) sub(v cpuUse) cpuUse {
	return cpuUse{portal: u.portal - v.portal, temporal: u.temporal - v.temporal, postgres: u.postgres - v.postgres}
}

// total is the CPU the three processes spent, in seconds.
func (u cpuUse) total() float64 { return (u.portal + u.temporal + u.postgres).Seconds() }

// per says the CPU time per item of a phase that handled n items in wall.
func (u cpuUse) per(n int, wall time.Duration) string {
	each := func(d time.Duration) string {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)/float64(n))
	}
	return fmt.Sprintf("CPU per item: portal (API and worker) %s, Temporal %s, Postgres %s; %.0f%% of %d cores busy with them",
		each(u.portal), each(u.temporal), each(u.postgres), 100*u.total()/wall.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
}

// procCPU answers a process's own CPU time and that of its waited-for
// children, from /proc/PID/stat.
func procCPU(pid int) (self, children time.Duration) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 15 {
		return 0, 0
	}
	tick := func(i int) time.Duration {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		return time.Duration(v) * clockTick
	}
	// Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 here.
	return tick(11) + tick(12), tick(13) + tick(14)
}

func forEachProcess(fn func(pid int, comm string, cmdline []string)) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		fn(pid, strings.TrimSpace(string(comm)), strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00"))
	}
}

// profile writes a CPU profile of this process for one phase to
// BENCH_PROFILE/name.pprof when BENCH_PROFILE names a directory; the
// returned function ends it.
func profile(name string) func() {
	dir := os.Getenv("BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		fmt.Println("profile:", err)
		return func() {}
	}
	defer func() { _ = root.Close() }()
	f, err := root.Create(name + ".pprof")
	if err != nil {
		fmt.Println("profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Println("profile:", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
