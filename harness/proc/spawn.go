// Package proc starts child processes that cannot outlive the harness.
package proc

import (
	"os/exec"
	"runtime"
	"syscall"
)

// Spawner starts children from one goroutine locked to its OS thread for its
// whole life. Children ask the kernel for SIGKILL when their parent dies
// (Pdeathsig), and "parent" there means the thread that forked them: were
// that thread to end while the harness goes on, the Go runtime could take
// children down with it. One thread that lives as long as the backend keeps
// the promise in both directions: no child outlives the harness, even when
// the harness is killed, and none dies early.
type Spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

// NewSpawner starts the spawner's thread; Close ends it.
func NewSpawner() *Spawner {
	s := &Spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *Spawner) loop() {
	runtime.LockOSThread()
	// Never unlocked: the thread ends with the goroutine, after every child
	// of this backend has been reaped (Close waits for that).
	defer close(s.done)
	for r := range s.reqs {
		if r.cmd.SysProcAttr == nil {
			r.cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		r.cmd.SysProcAttr.Setpgid = true
		r.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
		r.reply <- r.cmd.Start()
	}
}

// Start starts cmd in its own process group, bound to the harness's life.
func (s *Spawner) Start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, reply: reply}
	return <-reply
}

// Close ends the spawner; call it only when no child is left.
func (s *Spawner) Close() {
	close(s.reqs)
	<-s.done
}

// SignalGroup sends sig to the process group led by pid; a group that is
// gone already is not an error.
func SignalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && err != syscall.ESRCH {
		return err
	}
	return nil
}

// GroupAlive says whether any process is left in the group pgid.
func GroupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}
