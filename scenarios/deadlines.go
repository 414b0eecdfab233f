package scenarios

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/report"
)

// Every step of a drill has a deadline that follows from the drill's size and
// raft timing, and the whole drill has one (Options.Timeout, by default the
// sum of its steps'). A step past its deadline fails the drill; a drill never
// waits forever, whatever etcd does.
//
// The figures are generous: a deadline is there to end a hang, not to judge
// speed (benchmarks do that). They follow from:
//   - etcd's request timeout, 5 s + 2 election timeouts: how long a member
//     waits before it gives up publishing itself, and how long a proposal
//     may wait;
//   - etcd's strict reconfiguration check, which refuses a membership change
//     until the last new member has been connected for 5 s;
//   - a floor of 500 acknowledged writes a second and 5 MB/s of disk, far
//     below anything seen on the slowest backend (containers: 3,600 acked/s).
const (
	stepBase        = 30 * time.Second
	minWriteRate    = 500             // writes per second
	minBytesPerSec  = 5 << 20         // bytes per second
	writeOverhead   = 128             // bytes of key and ledger per write
	strictReconfig  = 5 * time.Second // etcd's wait before a membership change
	abandonAfter    = 5 * time.Second // a step that ignores its deadline is left this long after it
	stepsNotBounded = "cleanup"       // bounded by its own cleanupTimeout
)

// DeadlineError is a step that passed its deadline.
type DeadlineError struct {
	Step   string
	Budget time.Duration
	// Drill: it was the whole drill's deadline (--timeout), not the step's.
	Drill bool
}

func (e *DeadlineError) Error() string {
	if e.Drill {
		return fmt.Sprintf("the drill passed its deadline (--timeout %v) in step %s", e.Budget, e.Step)
	}
	return fmt.Sprintf("step %s passed its deadline of %v", e.Step, e.Budget)
}

// ErrDeadline matches every DeadlineError (errors.Is).
var ErrDeadline = errors.New("deadline passed")

func (e *DeadlineError) Is(target error) bool { return target == ErrDeadline }

// memberStart is what starting (or adding) one member may take: its publish
// through raft (etcd's request timeout), an election, and the strict
// reconfiguration wait before the next one may be added.
func (o Options) memberStart() time.Duration {
	el := o.Timing.Election
	return 5*time.Second + 2*el + 10*el + strictReconfig + 5*time.Second
}

// dataBytes is what the workload writes, keys and ledger included.
func (o Options) dataBytes() int64 {
	writes := int64(o.Keys + max(o.writesAfter(), 0))
	return writes * int64(o.Workload.ValueSize+writeOverhead)
}

// ioTime is how long moving the drill's data once may take.
func (o Options) ioTime() time.Duration {
	return time.Duration(o.dataBytes() * int64(time.Second) / minBytesPerSec)
}

func writesTime(n int) time.Duration {
	return stepBase + time.Duration(n)*time.Second/minWriteRate
}

// StepDeadline is the deadline of the step called name; o.StepDeadlines
// overrides it (tests make a hang short).
func (o Options) StepDeadline(name string) time.Duration {
	if d, ok := o.StepDeadlines[name]; ok {
		return d
	}
	el := o.Timing.Election
	members := time.Duration(max(o.Members, 1))
	switch name {
	case "start-cluster":
		return stepBase + members*o.memberStart()
	case "workload":
		return writesTime(o.Keys) + o.ioTime()
	case "workload-after-snapshot":
		return writesTime(o.writesAfter()) + o.ioTime()
	case "check-leases":
		return stepBase + 20*el + time.Duration(shortTTL)*time.Second + 2*time.Second
	case "snapshot", "copy-db", "compact", "leases":
		return stepBase + 2*o.ioTime()
	case "fault":
		d := stepBase + 40*el
		if len(o.Path) > 0 {
			// Every member of every roll restarted and checked, a wait on
			// the cluster version and the hop's writes after each roll (a
			// downgrade rolls twice).
			rolls := time.Duration(max(len(o.Path)-1, 2))
			d += rolls * (members*(o.memberStart()+o.StepDeadline("verify")) + 30*time.Second + writesTime(o.HopWrites))
		}
		return d
	case "confirm-fault":
		return stepBase + 40*el
	case "recover":
		d := 2*stepBase + members*(o.memberStart()+o.ioTime())
		if o.Recovery == "runbook" {
			// Each phase is bounded by --runbook-timeout, then the wait for
			// the cluster it brought up.
			d += 3 * o.runbookTimeout()
		}
		return d
	case "first-write":
		return stepBase + 10*el
	case "recovered-traffic":
		// Writers stuck on the old cluster are cut loose at once; the
		// recovered one may still be electing a leader.
		return stepBase + 10*el + writesTime(o.writesRecovered()) + o.ioTime()
	case "check-history":
		// porcupine checks one key's few operations at a time: tens of
		// thousands of operations a second on one core.
		return stepBase + time.Duration(o.Keys+o.writesAfter())*time.Second/20000
	case "verify", "verify-survivors":
		return stepBase + 2*o.ioTime() + time.Duration(o.Keys)*time.Second/(100*minWriteRate)
	}
	return stepBase
}

func (o Options) runbookTimeout() time.Duration {
	if o.RunbookTimeout > 0 {
		return o.RunbookTimeout
	}
	return 2 * time.Minute
}

// DrillDeadline is the whole drill's deadline: Options.Timeout, or the sum
// of every step's and of the cleanup's.
func (o Options) DrillDeadline() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	var sum time.Duration
	for _, s := range []string{"start-cluster", "workload", "compact", "snapshot", "workload-after-snapshot", "fault", "confirm-fault", "copy-db", "recover", "first-write", "recovered-traffic", "leases", "check-leases", "verify", "check-history"} {
		sum += o.StepDeadline(s)
	}
	return sum + cleanupTimeout
}

// stepContext bounds ctx by the step's deadline; the cause of its end says
// which deadline it was.
func (o Options) stepContext(ctx context.Context, name string) (context.Context, context.CancelFunc) {
	if name == stepsNotBounded {
		return context.WithCancel(ctx)
	}
	budget := o.StepDeadline(name)
	return context.WithTimeoutCause(ctx, budget, &DeadlineError{Step: name, Budget: budget})
}

// deadlineOf is the deadline that ended ctx, if one did, named after step.
func deadlineOf(ctx context.Context, step string) *DeadlineError {
	var de *DeadlineError
	if !errors.As(context.Cause(ctx), &de) {
		return nil
	}
	out := *de
	if out.Drill {
		out.Step = step
	}
	return &out
}

// probeTimeout bounds the health probe of each member after a deadline.
const probeTimeout = 500 * time.Millisecond

// deadlinePassed turns the error of a step that passed its deadline into one
// that says which deadline, what the step was waiting for (its own error)
// and which member logs to read: those of members that failed to start or
// do not answer now, or of every live member when all answer.
func (r *runner) deadlinePassed(ctx context.Context, de *DeadlineError, waiting error) error {
	pctx := context.WithoutCancel(ctx)
	stuck := r.d.FailedStartLogs()
	var live []string
	for _, c := range r.d.Clusters() {
		for _, m := range c.Live() {
			live = append(live, m.LogPath())
			cli, err := c.Client(m)
			if err == nil {
				gctx, cancel := context.WithTimeout(pctx, probeTimeout)
				_, err = cli.Get(gctx, "health")
				cancel()
			}
			if err != nil {
				stuck = append(stuck, m.LogPath())
			}
		}
	}
	logs := stuck
	if len(logs) == 0 {
		logs = live
	}
	r.rep.SetDeadline(report.Deadline{
		Step: de.Step, Seconds: de.Budget.Seconds(), Drill: de.Drill, WaitingFor: waiting.Error(), Logs: logs,
	})
	read := ""
	if len(logs) > 0 {
		read = "; read the member logs " + strings.Join(logs, ", ")
	}
	return fmt.Errorf("%w, waiting for: %v%s", de, waiting, read)
}

// waitAbandoned waits, after the cleanup, for steps that did not return
// after their deadline: the cleanup ended what they waited on.
func (r *runner) waitAbandoned() error {
	var stuck []string
	for _, a := range r.abandoned {
		select {
		case <-a.finished:
		case <-time.After(cleanupTimeout):
			stuck = append(stuck, a.step)
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("steps %s still had not returned %v after the cleanup", strings.Join(stuck, ", "), cleanupTimeout)
	}
	return nil
}
