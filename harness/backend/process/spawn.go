package process

import (
	"os/exec"
	"runtime"
	"syscall"
)

// spawner starts children from one goroutine locked to its OS thread for its
// whole life. Children ask the kernel for SIGKILL when their parent dies
// (Pdeathsig), and "parent" there means the thread that forked them: were
// that thread to end while the harness goes on, the Go runtime could take
// children down with it. One thread that lives as long as the backend keeps
// the promise in both directions: no child outlives the harness, even when
// the harness is killed, and none dies early.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
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

// start starts cmd in its own process group, bound to the harness's life.
func (s *spawner) start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, reply: reply}
	return <-reply
}

// close ends the spawner; call it only when no child is left.
func (s *spawner) close() {
	close(s.reqs)
	<-s.done
}
