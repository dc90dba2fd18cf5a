package cluster

import "path/filepath"

// The API server's audit log records who created, deleted and exec'd into
// pods, with the admission annotations of each request (the Pod Security
// level that judged it, the RBAC rule that allowed it): what tests read to
// prove that a job pod was created by its manager's ServiceAccount, through
// RBAC and admission, and deleted afterwards. Only those requests are
// recorded, at the Metadata level (no object bodies, so no Secret data),
// which keeps the file small on a cluster that runs for hours.
const auditPolicy = `# Written by the cluster command: what kube-apiserver records in logs/audit.log.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  resources:
  - group: ""
    resources: [pods]
  verbs: [create, delete, deletecollection]
- level: Metadata
  resources:
  - group: ""
    resources: [pods/exec, pods/attach, pods/eviction]
- level: None
`

// AuditLogPath is the API server's audit log in a cluster's state folder:
// one JSON audit.k8s.io/v1 Event per line.
func AuditLogPath(dir string) string { return filepath.Join(dir, "logs", "audit.log") }

func (c *Config) auditPolicyPath() string { return filepath.Join(c.Dir, "audit-policy.yaml") }

// writeAuditPolicy writes the policy the API server reads at start.
func (c *Config) writeAuditPolicy() error {
	return writeFile(c.auditPolicyPath(), []byte(auditPolicy), 0o644)
}

// auditArgs are the API server's audit flags: the log rotated at 100 MB,
// one old file kept.
func (c *Config) auditArgs() []string {
	return []string{
		"--audit-policy-file=" + c.auditPolicyPath(),
		"--audit-log-path=" + AuditLogPath(c.Dir),
		"--audit-log-format=json",
		"--audit-log-maxsize=100",
		"--audit-log-maxbackup=1",
	}
}
