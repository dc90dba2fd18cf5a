package settings

import (
	"slices"
	"strings"
)

// FleetPlan is what one fleet creates and what it takes from earlier fleets.
//
// Several fleets may share a manager or job namespace. Each namespace the
// stack creates is created once, by the first fleet that names it; later
// fleets refer to that fleet's output, so Pulumi orders creation and
// deletion correctly. Namespaces belong to a cluster (FleetSettings.Cluster):
// fleets of different clusters never share one, and may use the same names.
type FleetPlan struct {
	Settings FleetSettings
	// Create are the namespaces this fleet creates.
	Create []NamespaceSpec
	// SharedFrom maps a namespace created by an earlier fleet to its index.
	SharedFrom map[string]int
	// Jobs is set for the first fleet naming its job namespace: it creates
	// the objects of that namespace.
	Jobs *JobNamespacePlan
}

// NamespaceSpec is a namespace to create and the Pod Security level it enforces.
type NamespaceSpec struct {
	Name        string
	PodSecurity string
	// ResourceName is the Namespace's logical name in the stack (default:
	// Name). PlanFleets sets "<cluster>/<name>" for a named cluster, so that
	// fleets of several clusters may use the same namespace names.
	ResourceName string
}

type namespaceUse struct {
	fleet   int
	setting string // e.g. fleets[1].jobNamespace
	create  bool
	jobs    bool   // job pods run there
	level   string // the fleet's job Pod Security level
}

// clusterNamespace is a namespace of one cluster ("": the default one).
type clusterNamespace struct{ cluster, name string }

// resourceName is the Namespace's logical name in the stack: its name in the
// default cluster, "<cluster>/<name>" in a named one, so that namespaces of
// the same name in several clusters do not collide.
func (n clusterNamespace) resourceName() string {
	if n.cluster == "" {
		return n.name
	}
	return n.cluster + "/" + n.name
}

// PlanFleets checks the settings of fleets (already defaulted) one by one
// (Validate) and against each other, and decides which fleet creates which
// namespace. The configuration rendered from each fleet's settings is
// checked too by plan.Fleets, the one entry point that composes all checks.
func PlanFleets(fleets []FleetSettings) ([]FleetPlan, Problems) {
	var ps Problems
	names := map[string]int{}
	uses := map[clusterNamespace][]namespaceUse{}
	var order []clusterNamespace
	for i, f := range fleets {
		path := FleetPath(i, f.Name)
		ps = append(ps, f.Validate(path)...)
		if first, dup := names[f.Name]; dup && f.Name != "" {
			ps.Add(path+".name", "%q is already the name of fleets[%d]; fleet names must be unique", f.Name, first)
		} else {
			names[f.Name] = i
		}
		add := func(name, setting string, create, jobs bool) {
			ns := clusterNamespace{f.Cluster, name}
			if _, seen := uses[ns]; !seen {
				order = append(order, ns)
			}
			uses[ns] = append(uses[ns], namespaceUse{fleet: i, setting: path + "." + setting, create: create, jobs: jobs, level: f.Executor.PodSecurity})
		}
		add(f.Namespace, "namespace", *f.CreateNamespace, false)
		add(f.JobNamespace, "jobNamespace", *f.CreateJobNamespace, true)
		checkSystemNamespace(&ps, path+".namespace", f.Namespace, "the runner managers")
		checkSystemNamespace(&ps, path+".jobNamespace", f.JobNamespace, "job pods")
	}

	plans := make([]FleetPlan, len(fleets))
	for i, f := range fleets {
		plans[i] = FleetPlan{Settings: f, SharedFrom: map[string]int{}}
	}
	if len(ps) == 0 {
		for i, jobs := range planJobNamespaces(&ps, fleets) {
			plans[i].Jobs = jobs
		}
	}
	for _, key := range order {
		list, ns := uses[key], key.name
		checkNamespaceRoles(&ps, ns, list)
		owner := list[0]
		level := "restricted" // only managers run there
		var levelFrom string
		for _, u := range list {
			if u.create != owner.create {
				ps.Add(u.setting, "namespace %q is created by one fleet and expected to exist by another (see %s); set the same create flag for it everywhere", ns, owner.setting)
			}
			if u.jobs {
				if levelFrom != "" && u.level != level {
					ps.Add(u.setting, "jobs of several fleets run in namespace %q with different executor.podSecurity levels (%s here, %s in %s); use one level", ns, u.level, level, levelFrom)
				}
				level, levelFrom = u.level, u.setting
			}
		}
		if !owner.create {
			continue
		}
		plans[owner.fleet].Create = append(plans[owner.fleet].Create, NamespaceSpec{Name: ns, PodSecurity: level, ResourceName: key.resourceName()})
		for _, u := range list[1:] {
			if u.fleet != owner.fleet {
				plans[u.fleet].SharedFrom[ns] = owner.fleet
			}
		}
	}
	return plans, ps
}

// checkNamespaceRoles keeps managers and jobs apart: a namespace that holds
// runner managers (and so their token Secrets) is never a job namespace, of
// its own fleet or of another. A job namespace's Role lets its runner read
// and write Secrets and run pods there, and its Pod Security level is the
// jobs' (baseline or privileged), not the managers' restricted.
func checkNamespaceRoles(ps *Problems, ns string, uses []namespaceUse) {
	var managers, jobs []namespaceUse
	for _, u := range uses {
		if u.jobs {
			jobs = append(jobs, u)
		} else {
			managers = append(managers, u)
		}
	}
	if len(managers) == 0 || len(jobs) == 0 {
		return
	}
	for _, j := range jobs {
		ps.Add(j.setting, "namespace %q holds runner managers (%s): a job namespace must be separate, or that fleet's jobs could read the managers' token Secrets and run beside them; pick another namespace",
			ns, managers[0].setting)
	}
}

// systemNamespaces hold the cluster's own components.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

func checkSystemNamespace(ps *Problems, path, ns, what string) {
	if strings.HasPrefix(ns, "kube-") || slices.Contains(systemNamespaces, ns) {
		ps.Add(path, "%q is a system namespace: %s must not run there (the runner could create pods and Secrets beside the cluster's own components); pick a namespace of the fleet's own", ns, what)
	}
}
