// Package report is the outcome of one drill: a JSON file for scripts and CI,
// and a short summary for people.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Snapshot describes the backup a recovery used.
type Snapshot struct {
	Path        string `json:"path,omitempty"`
	Member      string `json:"member,omitempty"`
	Revision    int64  `json:"revision"`
	SizeBytes   int64  `json:"size_bytes"`
	TotalKeys   int    `json:"total_keys"`
	Hash        uint32 `json:"hash"`
	HashChecked bool   `json:"hash_checked"`
	// Floor is the least revision the backup must have: the highest
	// revision acknowledged before it was asked for (a live snapshot, a
	// runbook's backup), or what the member it was copied from had applied
	// before the fault (a copied db).
	Floor int64 `json:"floor"`
}

// Compaction is the old cluster's compaction before the backup, and whether
// the recovered cluster refused a watch from below it (compaction-lost if not).
type Compaction struct {
	Revision     int64 `json:"revision"`
	WatchRefused bool  `json:"watch_refused"`
}

// Traffic is what the writers saw when they ran through the fault and the
// recovery (--traffic continuous): writes per cluster, and the outage as a
// client lived it.
type Traffic struct {
	Mode string `json:"mode"`
	// Old and Recovered count the writes each cluster was sent.
	Old       Epoch `json:"old"`
	Recovered Epoch `json:"recovered"`
	// LastOldAck and FirstRecoveredAck bound the outage a client saw (its
	// length is rto_seconds).
	LastOldAck        time.Time `json:"last_old_ack,omitzero"`
	FirstRecoveredAck time.Time `json:"first_recovered_ack,omitzero"`
	// LongestWriterGapSeconds is the longest time one writer went without
	// an acknowledgement, and Writer is that writer.
	LongestWriterGapSeconds float64 `json:"longest_writer_gap_seconds"`
	Writer                  int     `json:"writer"`
}

// Leases sums up the lease checks: how many leases the workload granted,
// the findings about them, and how long the short lease took to expire
// after the recovery.
type Leases struct {
	Leases              int     `json:"leases"`
	Findings            int     `json:"findings"`
	ShortExpiredSeconds float64 `json:"short_expired_seconds"`
}

// Epoch counts the writes one cluster was sent, by outcome.
type Epoch struct {
	Acknowledged  int `json:"acknowledged"`
	Failed        int `json:"failed"`
	Indeterminate int `json:"indeterminate"`
}

// Linearizability is what the check of the history found: porcupine's
// verdict (Ok, Illegal, or Unknown when it ran out of time) over the
// operations, and where its HTML view of an illegal history is.
type Linearizability struct {
	Operations    int     `json:"operations"`
	Seconds       float64 `json:"seconds"`
	Verdict       string  `json:"verdict"`
	Visualization string  `json:"visualization,omitempty"`
}

// Keys counts the keyspace check.
type Keys struct {
	// Acknowledged counts every acknowledged write of the drill.
	Acknowledged  int `json:"acknowledged"`
	Failed        int `json:"failed"`
	Expected      int `json:"expected"`
	Restored      int `json:"restored"`
	Lost          int `json:"lost"`
	Resurrected   int `json:"resurrected"`
	Indeterminate int `json:"indeterminate"`
	Duplicates    int `json:"duplicates"`
	// RevisionMismatch: keys holding their value at other revisions
	// (mod_revision, create_revision, version) than the ledger gives.
	RevisionMismatch int `json:"revision_mismatch"`
	// PartialTxns: transactions the keyspace holds in part (partial-txn).
	PartialTxns int `json:"partial_txns"`
}

// RPO counts what the recovery point cost.
type RPO struct {
	// WritesAfterSnapshot: acknowledged writes above the snapshot revision,
	// which a restore is expected to lose.
	WritesAfterSnapshot int `json:"writes_after_snapshot"`
	// Baseline says what the recovered keyspace was checked against: a
	// snapshot's revision, a survivor's, or every acknowledged write.
	Baseline string `json:"baseline"`
	// AcknowledgedNotKept: acknowledged writes above that baseline, which
	// the recovery gave up (for force-new-cluster: what the survivor lacked).
	AcknowledgedNotKept int `json:"acknowledged_not_kept"`
}

// Cluster tells the old and recovered clusters apart.
type Cluster struct {
	OldID            string   `json:"old_id"`
	NewID            string   `json:"new_id"`
	IDChanged        bool     `json:"id_changed"`
	HashKVConsistent bool     `json:"hashkv_consistent"`
	HashKVRevision   int64    `json:"hashkv_revision"`
	Members          []string `json:"members,omitempty"`
	// RevisionBumpedFrom: the highest revision the old cluster served, which
	// a restore with a revision bump went past.
	RevisionBumpedFrom int64 `json:"revision_bumped_from,omitempty"`
}

// Fault says what was done, to whom, and whether it took effect.
type Fault struct {
	Name       string    `json:"name"`
	Members    []string  `json:"members"`
	At         time.Time `json:"at"`
	QuorumLost bool      `json:"quorum_lost"`
	Detail     string    `json:"detail,omitempty"`
	// ConfirmedAt is when the fault was proved in force.
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
}

// Rate is every ledgered write over time (the leases' and the probes'
// included, so its sums may pass the traffic's counts), in buckets of
// BucketSeconds from the drill's start: those acknowledged by the old cluster and by the
// recovered one (when they answered), those that failed (when they
// answered), and those left in doubt (when they were sent).
type Rate struct {
	BucketSeconds float64 `json:"bucket_seconds"`
	Old           []int   `json:"old"`
	Recovered     []int   `json:"recovered"`
	Failed        []int   `json:"failed"`
	Indeterminate []int   `json:"indeterminate"`
}

// Panic is a member's panic, read from its log or exit.
type Panic struct {
	Member  string `json:"member"`
	Message string `json:"message"`
	Caller  string `json:"caller,omitempty"`
	// Log is the member's log; Excerpt its lines up to the panic.
	Log     string   `json:"log,omitempty"`
	Excerpt []string `json:"excerpt,omitempty"`
}

// Step is one stage of the pipeline and its wall time.
type Step struct {
	Name string `json:"name"`
	// Start is when it began, in seconds from the drill's start.
	Start   float64 `json:"start"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error"`
	Detail  string  `json:"detail,omitempty"`
}

// Finding is one key that is not as the ledger says.
type Finding struct {
	Key  string `json:"key"`
	Kind string `json:"kind"`
	Want string `json:"want"`
	Got  string `json:"got"`
}

// Workload sums up the writes.
type Workload struct {
	Writes         int     `json:"writes"`
	Reads          int     `json:"reads"`
	Concurrency    int     `json:"concurrency"`
	ValueSize      int     `json:"value_size"`
	AckedPerSecond float64 `json:"acked_per_second"`
	BeforeSnapshot int     `json:"before_snapshot"`
	AfterSnapshot  int     `json:"after_snapshot"`
	// LedgerBytesPerWrite is what the ledger held per write.
	LedgerBytesPerWrite float64 `json:"ledger_bytes_per_write"`
}

// Report is the JSON contract of design.md, and a little more.
type Report struct {
	Scenario string `json:"scenario"`
	// RunID names the drill in the labels of what it made outside its run
	// directory (containers, networks).
	RunID string `json:"run_id"`
	// Replay is the command that runs the drill again.
	Replay      string `json:"replay,omitempty"`
	Description string `json:"description,omitempty"`
	Backend     string `json:"backend"`
	EtcdVersion string `json:"etcd_version"`
	// MemberVersions is what each member said it runs (Status), the old
	// cluster's when it started and the recovered one's when verified.
	MemberVersions map[string]string `json:"member_versions,omitempty"`
	// RestoreVersion is the etcd version a cross-version restore restored
	// and served the snapshot with (empty: the cluster's own).
	RestoreVersion string   `json:"restore_version,omitempty"`
	Members        int      `json:"members"`
	Seed           uint64   `json:"seed"`
	Passed         bool     `json:"passed"`
	Failures       []string `json:"failures"`
	Snapshot       Snapshot `json:"snapshot"`
	Keys           Keys     `json:"keys"`
	// Verified: the keyspace check ran (keys.expected and on are set).
	Verified bool `json:"verified"`
	RPO      RPO  `json:"rpo"`
	// RTOSeconds is the outage: with continuous traffic, what a client saw,
	// from the old cluster's last acknowledged write to the recovered one's
	// first; with phased traffic, from the fault to a write sent after the
	// recovery.
	RTOSeconds float64 `json:"rto_seconds"`
	// RecoverySeconds is the part of the RTO the procedure itself took:
	// from the fault confirmed to the recovered cluster healthy (phased:
	// to the first acknowledged write).
	RecoverySeconds float64 `json:"recovery_seconds"`
	// HealSeconds: after a partition, from the heal to the first write taken.
	HealSeconds float64   `json:"heal_seconds,omitempty"`
	Cluster     Cluster   `json:"cluster"`
	Fault       *Fault    `json:"fault,omitempty"`
	Panics      []Panic   `json:"panics"`
	Steps       []Step    `json:"steps"`
	Findings    []Finding `json:"findings,omitempty"`
	// Notes are what the drill observed along the way that is neither a
	// step nor a failure (a backup refused as it should be, say).
	Notes []string `json:"notes,omitempty"`
	// Hazards are dangerous outcomes a scenario went looking for.
	Hazards  []Hazard `json:"hazards,omitempty"`
	Workload Workload `json:"workload"`
	// Incidents are what etcd itself did wrong, with their evidence.
	Incidents []Incident `json:"incidents,omitempty"`
	// Deadline is the step that passed its deadline, if one did.
	Deadline *Deadline `json:"deadline,omitempty"`
	// Compaction is the compaction made before the backup, if any.
	Compaction *Compaction `json:"compaction,omitempty"`
	// Traffic is what the writers saw through the fault and the recovery,
	// when they ran through them.
	Traffic *Traffic `json:"traffic,omitempty"`
	// Leases is the check of the workload's leases, if it ran.
	Leases *Leases `json:"leases,omitempty"`
	// Linearizability is the check of the ledgered history, if it ran.
	Linearizability *Linearizability `json:"linearizability,omitempty"`
	// Rate is the writes over time, for the timeline.
	Rate *Rate `json:"rate,omitempty"`
	// Upgrade is what an upgrade or downgrade in place did, if the drill
	// was one.
	Upgrade *Upgrade `json:"upgrade,omitempty"`
	// RunbookLogs are the outputs of an operator's runbook, kept when the
	// drill fails.
	RunbookLogs []string `json:"runbook_logs,omitempty"`
	// URLs lists every client and peer URL the drill's members used.
	URLs    []string  `json:"urls"`
	RunDir  string    `json:"run_dir,omitempty"`
	Kept    bool      `json:"kept"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`

	mu sync.Mutex
}

// New starts a report.
func New(scenario, backend string, members int, seed uint64) *Report {
	return &Report{
		Scenario: scenario, Backend: backend, Members: members, Seed: seed,
		Failures: []string{}, Panics: []Panic{}, Steps: []Step{},
		Started: time.Now(),
	}
}

// Incident is something etcd itself did wrong during the drill, with the
// evidence to show its maintainers.
type Incident struct {
	// Name is the finding: etcd-publish-spin, log-flood.
	Name        string `json:"name"`
	Member      string `json:"member"`
	EtcdVersion string `json:"etcd_version"`
	// Message is etcd's own message that shows it.
	Message string `json:"message"`
	Detail  string `json:"detail"`
	// Log is the member's log, Excerpt the lines of it that are the evidence.
	Log     string   `json:"log"`
	Excerpt []string `json:"excerpt,omitempty"`
	// Workaround is what the drill did about it, as an operator would.
	Workaround string `json:"workaround,omitempty"`
	// Replay is the command that runs the drill again.
	Replay string `json:"replay"`
}

// AddIncident records what etcd did wrong.
func (r *Report) AddIncident(i Incident) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Incidents = append(r.Incidents, i)
}

// Deadline is a step that passed its deadline: the drill failed there.
type Deadline struct {
	Step    string  `json:"step"`
	Seconds float64 `json:"seconds"`
	// Drill: it was the whole drill's deadline (--timeout), not the step's.
	Drill bool `json:"drill"`
	// WaitingFor is what the step was waiting for when its time ran out.
	WaitingFor string `json:"waiting_for"`
	// Logs are the member logs to read: members that did not answer then.
	Logs []string `json:"logs"`
}

// SetDeadline records the deadline that ended the drill.
func (r *Report) SetDeadline(d Deadline) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Deadline = &d
}

// Upgrade is an upgrade or downgrade in place: the versions it took the
// cluster through, the ledger's check at every stage, and what etcd did
// wrong on the way.
type Upgrade struct {
	// Path is the versions, the cluster's own first.
	Path        []string     `json:"path"`
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Findings are members that did not come up on a version, with the
	// evidence.
	Findings []UpgradeFinding `json:"findings,omitempty"`
	// Unsupported is the catalogue's declaration that this path is not
	// one etcd supports, with its reason and reference: etcd refusing it
	// is then what the drill expects, not a failure.
	Unsupported string `json:"unsupported,omitempty"`
	// RefusedAsDeclared: etcd refused the path, which is declared
	// unsupported; the members still up were checked.
	RefusedAsDeclared bool `json:"refused_as_declared,omitempty"`
}

// Checkpoint is the check of every acknowledged write at one stage of an
// upgrade, while the writers went on.
type Checkpoint struct {
	Stage    string `json:"stage"`
	Revision int64  `json:"revision"`
	// Expected and Held count the keys the ledger wants at the revision and
	// the keys there.
	Expected         int     `json:"expected"`
	Held             int     `json:"held"`
	Lost             int     `json:"lost"`
	Resurrected      int     `json:"resurrected"`
	RevisionMismatch int     `json:"revision_mismatch"`
	Indeterminate    int     `json:"indeterminate"`
	Seconds          float64 `json:"seconds"`
	Passed           bool    `json:"passed"`
}

// UpgradeFinding is a member that did not come up on a version it was moved
// to: it panicked, refused to start, or never became healthy.
type UpgradeFinding struct {
	Name    string `json:"name"`
	Member  string `json:"member"`
	Version string `json:"version"`
	// From is the version it ran before; Stage where on the path it was.
	From  string `json:"from"`
	Stage string `json:"stage,omitempty"`
	// Message is etcd's own: its panic, else its last fatal or error log
	// line, else what the harness saw; Caller is the panic's.
	Message string `json:"message"`
	Caller  string `json:"caller,omitempty"`
	Log     string `json:"log"`
	// DataDir is the member's data dir, kept for a post-mortem.
	DataDir string `json:"data_dir"`
	Replay  string `json:"replay"`
}

// AddCheckpoint records an upgrade's check of the ledger.
func (r *Report) AddCheckpoint(c Checkpoint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Upgrade == nil {
		r.Upgrade = &Upgrade{}
	}
	r.Upgrade.Checkpoints = append(r.Upgrade.Checkpoints, c)
}

// Hazard is a dangerous outcome of an operator's mistake, found and named.
type Hazard struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// Note records an observation.
func (r *Report) Note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Notes = append(r.Notes, s)
}

// AddHazard records a hazard.
func (r *Report) AddHazard(name, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Hazards = append(r.Hazards, Hazard{Name: name, Detail: detail})
}

// Fail records an assertion that did not hold.
func (r *Report) Fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// AddStep records a finished step.
func (r *Report) AddStep(s Step) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Steps = append(r.Steps, s)
}

// Finish sets Passed from the failures and the total time.
func (r *Report) Finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Passed = len(r.Failures) == 0
	r.Seconds = time.Since(r.Started).Seconds()
}

// Read reads a report WriteFile wrote.
func Read(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("not a drill's report: %w", err)
	}
	if r.Scenario == "" || r.Started.IsZero() {
		return nil, errors.New("not a drill's report: no scenario or start time")
	}
	return &r, nil
}

// WriteFile writes the report as indented JSON, atomically.
func (r *Report) WriteFile(path string) error {
	r.mu.Lock()
	b, err := json.MarshalIndent(r, "", "  ")
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*.json")
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
