package scenarios

import (
	"context"
	"fmt"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/observe"
	"github.com/etcd-drill/etcd-drill/harness/watch"
)

// actStages are the steps of a scenario's further acts: each fault's
// injection and confirmation (a step named after the fault), then its
// observer (a step "observe"), which ends the fault when it has seen enough.
func (r *runner) actStages(acts []Act) []stage {
	var out []stage
	for _, a := range acts {
		st := &actState{}
		if a.Fault != nil {
			out = append(out, stage{a.Fault.Name(), func(ctx context.Context) (string, error) { return r.actFault(ctx, a, st) }})
		}
		if a.Observer != nil {
			out = append(out, stage{"observe", func(ctx context.Context) (string, error) { return r.observe(ctx, a, st) }})
		}
	}
	return out
}

// actState is what an act's fault did, for its observer.
type actState struct {
	effect  harness.Effect
	offsets map[string]int64
}

// actFaultEnv is what a further fault acts on: the recovered cluster too,
// once there is one.
func (r *runner) actFaultEnv() faults.Env {
	env := r.faultEnv()
	env.Recovered = r.outcome.Cluster
	return env
}

func (r *runner) actFault(ctx context.Context, a Act, st *actState) (string, error) {
	st.offsets = r.logSizes()
	env := r.actFaultEnv()
	e, err := a.Fault.Inject(ctx, env)
	st.effect = e
	if err != nil {
		return e.Detail, err
	}
	e, err = a.Fault.Confirm(ctx, env, e)
	st.effect = e
	return e.Detail, err
}

// observe runs the act's observer and records what it saw.
func (r *runner) observe(ctx context.Context, a Act, st *actState) (string, error) {
	if st.offsets == nil {
		st.offsets = r.logSizes()
	}
	end := func(ctx context.Context) error {
		if en, ok := a.Fault.(faults.Ender); ok {
			return en.End(ctx, r.actFaultEnv(), st.effect)
		}
		return nil
	}
	v := watch.View{Drill: r.d, Cluster: r.cluster, Recovered: r.outcome.Cluster, Ledger: r.ledger(), LogOffsets: st.offsets}
	obs, err := a.Observer.Observe(ctx, v, st.effect, end)
	for _, n := range obs.Notes {
		r.rep.Note(n)
	}
	if err != nil {
		return "", err
	}
	if obs.Hazard == nil {
		return a.Observer.Name() + ": nothing to report", nil
	}
	r.rep.AddHazard(obs.Hazard.Name, obs.Hazard.Detail)
	return fmt.Sprintf("%s: hazard %s", a.Observer.Name(), obs.Hazard.Name), nil
}

// logSizes are the sizes of every member log of the drill now.
func (r *runner) logSizes() map[string]int64 {
	out := map[string]int64{}
	for _, c := range r.d.Clusters() {
		for _, m := range c.AllMembers() {
			out[m.LogPath()] = observe.Size(m.LogPath())
		}
	}
	return out
}
