// Package proc starts child processes that cannot outlive the harness.
package proc

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
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

// GroupAlive says whether a live process (not a zombie waiting for its
// parent) is left in the group pgid.
func GroupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell: assume alive
	}
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		state, pgrp, ok := statFields(b)
		if ok && pgrp == pgid && state != 'Z' {
			return true
		}
	}
	return false
}

// statFields reads the state and process group of /proc/PID/stat:
// "pid (comm) S ppid pgrp ...", where comm may hold spaces and parentheses.
func statFields(stat []byte) (state byte, pgrp int, ok bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, 0, false
	}
	f := strings.Fields(string(stat[i+2:]))
	if len(f) < 3 {
		return 0, 0, false
	}
	pgrp, err := strconv.Atoi(f[2])
	return f[0][0], pgrp, err == nil
}

// Zombie says whether pid is a zombie; a pid that is gone is not.
func Zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	state, _, ok := statFields(b)
	return ok && state == 'Z'
}
