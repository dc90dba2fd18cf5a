package settings

import (
	"fmt"
	"slices"
	"strings"
)

// JobNamespacePlan is what the fleets running jobs in one namespace need
// there: one NetworkPolicy, one ResourceQuota and LimitRange, and the default
// ServiceAccount without a mounted token. The first fleet naming the
// namespace creates them.
//
// Fleets share a job namespace only within a trust boundary: each fleet's
// Role covers its whole job namespace, so a manager can exec into any job
// pod there and read any Secret (job variables, CI_JOB_TOKEN). So fleets
// share a job namespace only when they are equally trusted: the same
// scope (instance, the same group or the same project), access level and
// lock. A fleet with an existing token (tokenConfigKey) has a scope the stack
// does not know, and shares with no one.
//
// Privileged jobs are root on their node. They must run on a node pool of
// their own (executor.nodeSelector, and a toleration for the pool's taint),
// which no fleet's managers tolerate: else a job could read the token
// Secrets mounted in managers on the same node.
type JobNamespacePlan struct {
	Name string
	// ManagerNamespaces are every managers' namespace of the stack in this
	// job namespace's cluster.
	ManagerNamespaces []string
	Policies          bool
	EgressCIDRs       []string
	DeniedCIDRs       []string
	QuotaOn           bool
	// Quota sums the shares of the fleets running jobs here.
	Quota JobQuota
	// DefaultContainer is the LimitRange's default: the helper's resources.
	DefaultContainer ContainerResources
}

// trustKey is what fleets sharing a job namespace must have in common.
func trustKey(s FleetSettings) string {
	if !s.ManagesRunner() {
		return "existing token " + s.TokenConfigKey
	}
	r := s.Runner
	scope := "instance"
	switch r.Type {
	case "group_type":
		scope = fmt.Sprintf("group %d", r.GroupID)
	case "project_type":
		scope = fmt.Sprintf("project %d", r.ProjectID)
	}
	return fmt.Sprintf("%s, %s, locked=%t", scope, r.AccessLevel, r.Locked)
}

// planJobNamespaces checks the fleets sharing each job namespace and plans
// the namespace's own objects; the first fleet naming a namespace owns them.
// Only called when every fleet is valid on its own.
func planJobNamespaces(ps *Problems, fleets []FleetSettings) map[int]*JobNamespacePlan {
	managers := map[string][]string{} // by cluster
	for _, f := range fleets {
		managers[f.Cluster] = append(managers[f.Cluster], f.Namespace)
	}
	owners := map[clusterNamespace]int{}
	plans := map[int]*JobNamespacePlan{}
	for i, f := range fleets {
		path := FleetPath(i, f.Name)
		first, shared := owners[clusterNamespace{f.Cluster, f.JobNamespace}]
		if !shared {
			owners[clusterNamespace{f.Cluster, f.JobNamespace}] = i
			plans[i] = &JobNamespacePlan{
				Name: f.JobNamespace, ManagerNamespaces: sortedUnique(managers[f.Cluster]),
				Policies: f.Network.PoliciesOn(), EgressCIDRs: f.Network.JobEgressCIDRs, DeniedCIDRs: f.Network.JobDeniedCIDRs,
				QuotaOn: f.Executor.Quota.QuotaOn(), Quota: jobQuota(f), DefaultContainer: f.Executor.Helper,
			}
			continue
		}
		owner, plan := fleets[first], plans[first]
		if trustKey(f) != trustKey(owner) {
			ps.Add(path+".jobNamespace", "shares job namespace %q with %s but not its trust (%s here, %s there): either manager could exec into the other's jobs and read their Secrets (CI_JOB_TOKEN); give each its own job namespace",
				f.JobNamespace, FleetPath(first, owner.Name), trustKey(f), trustKey(owner))
		}
		if f.Network.PoliciesOn() != plan.Policies || !slices.Equal(sortedUnique(f.Network.JobEgressCIDRs), sortedUnique(plan.EgressCIDRs)) {
			ps.Add(path+".network", "differs from %s, which shares job namespace %q: network.policies and network.jobEgressCidrs apply to the whole namespace; set them alike", FleetPath(first, owner.Name), f.JobNamespace)
		}
		if f.Executor.Quota.QuotaOn() != plan.QuotaOn {
			ps.Add(path+".executor.quota.enabled", "differs from %s, which shares job namespace %q: the quota covers the whole namespace", FleetPath(first, owner.Name), f.JobNamespace)
		}
		plan.DeniedCIDRs = sortedUnique(append(plan.DeniedCIDRs, f.Network.JobDeniedCIDRs...))
		plan.Quota = plan.Quota.plus(jobQuota(f))
	}
	checkPrivilegedPools(ps, fleets)
	return plans
}

// checkPrivilegedPools keeps privileged jobs on a tainted node pool that no
// manager tolerates.
func checkPrivilegedPools(ps *Problems, fleets []FleetSettings) {
	for i, f := range fleets {
		if !f.Executor.Privileged {
			continue
		}
		path := FleetPath(i, f.Name) + ".executor"
		var taints []string
		for _, t := range f.Executor.Tolerations {
			if t.Key != "" && (t.Effect == "NoSchedule" || t.Effect == "NoExecute") {
				taints = append(taints, t.Key)
			}
		}
		if len(f.Executor.NodeSelector) == 0 || len(taints) == 0 {
			ps.Add(path+".privileged", "privileged jobs are root on their node: they need a node pool of their own; set executor.nodeSelector to the pool's label and executor.tolerations to its taint (effect NoSchedule), a taint no manager tolerates")
			continue
		}
		for j, other := range fleets {
			if other.Cluster != f.Cluster {
				continue // another cluster's nodes
			}
			for _, t := range other.Manager.Tolerations {
				if t.Key == "" || slices.Contains(taints, t.Key) {
					ps.Add(FleetPath(j, other.Name)+".manager.tolerations", "tolerates the taint %s of the privileged job pool of %s: its managers (and their token Secrets) could land beside root jobs; remove that toleration",
						strings.Join(taints, ", "), FleetPath(i, f.Name))
				}
			}
		}
	}
}

// sortedUnique is values sorted, without repeats.
func sortedUnique(values []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(values)))
}
