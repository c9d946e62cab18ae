package faults

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"
)

// process is one portal process (`portal api` or `portal worker`) started
// from the built binary with an environment of its own.
type process struct {
	t    *testing.T
	name string
	args []string
	env  map[string]string
	log  *os.File
	cmd  *exec.Cmd
	done chan struct{}
}

func newProcess(t *testing.T, dir, name string, env map[string]string, args ...string) *process {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, name: name, args: args, env: env, log: log}
	t.Cleanup(func() {
		p.kill()
		_ = log.Close()
	})
	return p
}

// start runs the process with its environment plus extra (KEY=value).
func (p *process) start(extra ...string) {
	p.t.Helper()
	p.cmd = exec.Command(portalBinary(p.t), p.args...) //nolint:gosec,noctx // G204: the binary under test; killed by the suite, not by a context
	keys := make([]string, 0, len(p.env))
	for k := range p.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range keys {
		p.cmd.Env = append(p.cmd.Env, k+"="+p.env[k])
	}
	p.cmd.Env = append(p.cmd.Env, extra...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.done = done
	cmd := p.cmd
	go func() { _ = cmd.Wait(); close(done) }()
}

// kill ends the process with SIGKILL: no drain, no goodbye.
func (p *process) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// exited waits up to d for the process to end on its own.
func (p *process) exited(d time.Duration) bool {
	select {
	case <-p.done:
		p.cmd = nil
		return true
	case <-time.After(d):
		return false
	}
}

// waitHealthy waits for an API process's /healthz.
func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz did not answer 200 within 3 minutes", base)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
