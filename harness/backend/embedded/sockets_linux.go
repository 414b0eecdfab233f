package embedded

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// cutConnections shuts down every established TCP connection of this process
// whose local port is one of ports, as the kernel does to the sockets of a
// process that is killed. An embedded member cannot be killed that way, and
// without this its peers' keep-alive connections linger: etcd's peer server
// then waits a second in its shutdown, and some of its goroutines up to five.
//
// Sockets are found in /proc/net/tcp{,6} by port and matched to this process's
// descriptors by inode. Each descriptor is duplicated and checked again before
// the shutdown, so a descriptor number reused in the meantime is never touched.
// Descriptors stay open: their owners close them as usual.
func cutConnections(ports ...int) (int, error) {
	want := map[int]bool{}
	for _, p := range ports {
		want[p] = true
	}
	inodes := map[uint64]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := established(f, want, inodes); err != nil {
			return 0, err
		}
	}
	if len(inodes) == 0 {
		return 0, nil
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
		if link, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if shutdownIfInode(fd, inodes) {
			n++
		}
	}
	return n, nil
}

// established adds to inodes the established sockets of file whose local
// port is wanted.
func established(file string, want map[int]bool, inodes map[uint64]bool) error {
	f, err := os.Open(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "01" { // 01: ESTABLISHED
			continue
		}
		local := fields[1]
		i := strings.LastIndexByte(local, ':')
		port, err := strconv.ParseUint(local[i+1:], 16, 16)
		if err != nil || !want[int(port)] {
			continue
		}
		inode, err := strconv.ParseUint(fields[9], 10, 64)
		if err == nil && inode != 0 {
			inodes[inode] = true
		}
	}
	return sc.Err()
}

func shutdownIfInode(fd int, inodes map[uint64]bool) bool {
	dup, err := syscall.Dup(fd)
	if err != nil {
		return false
	}
	defer syscall.Close(dup)
	var st syscall.Stat_t
	if err := syscall.Fstat(dup, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK || !inodes[st.Ino] {
		return false
	}
	return syscall.Shutdown(dup, syscall.SHUT_RDWR) == nil
}
