// Package sockets finds TCP sockets by port through /proc: the established
// connections of this process to cut when an in-process member is killed,
// and the processes listening on a member's ports when someone else (an
// operator's runbook) started it.
package sockets

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// TCP states as /proc/net/tcp writes them.
const (
	stateEstablished = "01"
	stateListen      = "0A"
)

// inodes returns the inodes of the sockets in state whose local port is one
// of ports.
func inodes(state string, ports []int) (map[uint64]bool, error) {
	want := map[int]bool{}
	for _, p := range ports {
		want[p] = true
	}
	out := map[uint64]bool{}
	err := eachSocket(state, func(_ string, port int, inode uint64) {
		if want[port] {
			out[inode] = true
		}
	})
	return out, err
}

// eachSocket calls f with the local address (as the kernel writes it, in
// hex), the local port and the inode of every TCP socket in state, IPv4 and
// IPv6.
func eachSocket(state string, f func(addr string, port int, inode uint64)) error {
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := scan(file, state, f); err != nil {
			return err
		}
	}
	return nil
}

func scan(file, state string, f func(addr string, port int, inode uint64)) error {
	fh, err := os.Open(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != state {
			continue
		}
		addr, portHex, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portHex, 16, 16)
		if err != nil {
			continue
		}
		if inode, err := strconv.ParseUint(fields[9], 10, 64); err == nil && inode != 0 {
			f(addr, int(port), inode)
		}
	}
	return sc.Err()
}

// Local addresses of 127.0.0.1 as /proc/net/tcp and tcp6 write them (the
// kernel's byte order on little-endian machines).
const (
	loopback4       = "0100007F"
	loopback4Mapped = "0000000000000000FFFF00000100007F"
)

// LoopbackListeners lists the TCP sockets listening on 127.0.0.1 (IPv4, or
// IPv4-mapped IPv6) that one of pids holds open, as "127.0.0.1:PORT" -> the
// pid holding it.
func LoopbackListeners(pids ...int) (map[string]int, error) {
	ports := map[uint64]int{} // inode -> port
	err := eachSocket(stateListen, func(addr string, port int, inode uint64) {
		if addr == loopback4 || addr == loopback4Mapped {
			ports[inode] = port
		}
	})
	out := map[string]int{}
	if err != nil || len(ports) == 0 {
		return out, err
	}
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // ended meanwhile, or not ours to read
		}
		for _, e := range entries {
			if ino, ok := socketInode(dir + e.Name()); ok {
				if port, ok := ports[ino]; ok {
					out["127.0.0.1:"+strconv.Itoa(port)] = pid
				}
			}
		}
	}
	return out, nil
}

// socketInode reads the inode of a /proc/PID/fd/N link to a socket.
func socketInode(link string) (uint64, bool) {
	target, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(target, "socket:[") {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 64)
	return n, err == nil
}

// CutOwn shuts down every established TCP connection of this process whose
// local port is one of ports, as the kernel does to the sockets of a killed
// process, and returns how many it cut. Each descriptor is duplicated and
// checked again before the shutdown, so a descriptor number reused in the
// meantime is never touched; descriptors stay open for their owners to close.
func CutOwn(ports ...int) (int, error) {
	in, err := inodes(stateEstablished, ports)
	if err != nil || len(in) == 0 {
		return 0, err
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("list descriptors: %w", err)
	}
	n := 0
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ok := socketInode("/proc/self/fd/" + e.Name()); !ok {
			continue
		}
		if shutdownIfInode(fd, in) {
			n++
		}
	}
	return n, nil
}

func shutdownIfInode(fd int, in map[uint64]bool) bool {
	dup, err := syscall.Dup(fd)
	if err != nil {
		return false
	}
	defer syscall.Close(dup)
	var st syscall.Stat_t
	if err := syscall.Fstat(dup, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK || !in[st.Ino] {
		return false
	}
	return syscall.Shutdown(dup, syscall.SHUT_RDWR) == nil
}

// Listening says whether any socket listens on one of ports, whoever holds
// it: a process whose main thread has exited (a zombie to ps) may still hold
// its sockets until its last thread has.
func Listening(ports ...int) (bool, error) {
	in, err := inodes(stateListen, ports)
	return len(in) > 0, err
}

// Listeners returns the ids of the processes that listen on any of ports.
func Listeners(ports ...int) ([]int, error) {
	in, err := inodes(stateListen, ports)
	if err != nil || len(in) == 0 {
		return nil, err
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + p.Name() + "/fd/"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // gone, or not ours to read
		}
		for _, fd := range fds {
			if ino, ok := socketInode(dir + fd.Name()); ok && in[ino] {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids, nil
}
