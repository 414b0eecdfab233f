// Command etcd-drill runs disaster-recovery drills against etcd clusters.
//
//	etcd-drill list
//	etcd-drill run SCENARIO [--backend embedded] [--members N] [--keys K] [--seed S] [--report FILE] [--keep]
//
// Exit status: 0 every assertion held; 1 an assertion failed or the drill
// could not complete; 2 bad input.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	tclog "github.com/testcontainers/testcontainers-go/log"
	"google.golang.org/grpc/grpclog"
)

func main() {
	// gRPC and testcontainers log to stderr by default; a drill's terminal
	// shows only its own lines.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, io.Discard))
	tclog.SetDefault(tclog.NewNoopLogger())
	ctx, stop := withSignals(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// signalCause ends a command's context when SIGINT or SIGTERM arrives.
type signalCause struct{ sig syscall.Signal }

func (s signalCause) Error() string { return "interrupted by " + s.sig.String() }

// exitCode is the shell's convention for a process ended by a signal.
func (s signalCause) exitCode() int { return 128 + int(s.sig) }

// withSignals returns a context that the first SIGINT or SIGTERM cancels
// (the drill stops and cleans up, then exits 130 or 143); a second signal
// ends the process at once with that status.
func withSignals(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(signalCause{sig.(syscall.Signal)})
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			os.Exit(signalCause{sig.(syscall.Signal)}.exitCode())
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruptedCode is the exit status of a command whose context a signal
// ended, or 0.
func interruptedCode(ctx context.Context) int {
	var sc signalCause
	if errors.As(context.Cause(ctx), &sc) {
		return sc.exitCode()
	}
	return 0
}

// usageError is bad input: one line on stderr and exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

const usage = `etcd-drill: disaster-recovery drills for etcd

usage:
  etcd-drill list                      list the scenarios
  etcd-drill run SCENARIO [flags]      run one drill (etcd-drill run --help for flags)
  etcd-drill cleanup                   remove containers and networks that killed runs left behind
  etcd-drill soak --count N --seed S   run N random drills in a row; report leaks, hangs, flakes (soak --help)
  etcd-drill matrix --from V,V --to V,V  restore each version's snapshot on each version (matrix --help)
  etcd-drill report RUN_DIR            re-render a kept drill: summary, timeline picture, HTML page
  etcd-drill help COMMAND              the flags of a command
  etcd-drill --version                 etcd-drill's version and the etcd versions it runs

exit status: 0 passed, 1 an assertion failed, 2 bad input
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// Bad usage is one line on stderr (design.md, CLI contract).
		fmt.Fprintln(stderr, "etcd-drill: no command given (want list or run; etcd-drill help shows the usage)")
		return 2
	}
	var err error
	switch args[0] {
	case "list":
		err = cmdList(args[1:], stdout)
	case "cleanup":
		err = cmdCleanup(ctx, args[1:], stdout)
	case "version", "--version", "-version":
		err = cmdVersion(args[1:], stdout)
	case "run", "soak", "matrix", "report":
		cmd := map[string]func(context.Context, []string, io.Writer, io.Writer) (int, error){"run": cmdRun, "soak": cmdSoak, "matrix": cmdMatrix, "report": cmdReport}[args[0]]
		var code int
		code, err = cmd(ctx, args[1:], stdout, stderr)
		if c := interruptedCode(ctx); c != 0 && code != 2 {
			if err != nil {
				fmt.Fprintln(stderr, "etcd-drill: "+err.Error())
			}
			return c
		}
		if err == nil {
			return code
		}
	case "help", "-h", "--help":
		if len(args) > 1 && args[0] == "help" {
			switch args[1] {
			case "run", "soak", "matrix", "report":
				return run(ctx, []string{args[1], "--help"}, stdout, stderr)
			}
			err = badInput("help %s: no such command (want run, soak, matrix or report)", args[1])
			break
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = badInput("unknown command %q (want list, run, soak, matrix, report or cleanup)", args[0])
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "etcd-drill: "+ue.msg)
		return 2
	default:
		fmt.Fprintln(stderr, "etcd-drill: "+err.Error())
		return 1
	}
}
