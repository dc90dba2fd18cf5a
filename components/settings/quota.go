package settings

import (
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
)

// QuotaServices is how many service containers a job is assumed to run when
// the default quota is sized (see JobQuota).
const QuotaServices = 2

// QuotaSettings override the job namespace's ResourceQuota.
type QuotaSettings struct {
	// Enabled creates the ResourceQuota and LimitRange (default true).
	Enabled *bool `json:"enabled,omitempty"`
	// Pods, CPU (requests), Memory (limits) and EphemeralStorage (limits)
	// are this fleet's share of the namespace's totals. Default: sized from
	// the fleet's settings (see above).
	Pods             int    `json:"pods,omitempty"`
	CPU              string `json:"cpu,omitempty"`
	Memory           string `json:"memory,omitempty"`
	EphemeralStorage string `json:"ephemeralStorage,omitempty"`
}

// QuotaOn reports whether the job namespace gets a quota.
func (q QuotaSettings) QuotaOn() bool { return q.Enabled == nil || *q.Enabled }

func (q QuotaSettings) validate(ps *Problems, path string) {
	if q.Pods < 0 || q.Pods > 10000 {
		ps.Add(path+".pods", "must be between 1 and 10000, got %d", q.Pods)
	}
	parseQuantity(ps, path+".cpu", q.CPU)
	parseQuantity(ps, path+".memory", q.Memory)
	parseQuantity(ps, path+".ephemeralStorage", q.EphemeralStorage)
	if !q.QuotaOn() && (q.Pods != 0 || q.CPU != "" || q.Memory != "" || q.EphemeralStorage != "") {
		ps.Add(path+".enabled", "is false, so the quota's totals would do nothing; remove them or turn the quota on")
	}
}

// JobQuota is the share of a job namespace's quota one fleet needs.
//
// What the job pods of a job namespace may use together is bounded by a
// ResourceQuota (pods, CPU and memory requests, memory and ephemeral-storage
// limits) and a LimitRange whose defaults cover containers that set none, so
// one stack's jobs cannot starve the nodes (nor fill their disks) however
// many are queued. The default quota is what the fleets that run jobs there
// can use at once: for each fleet, manager.replicas × manager.concurrent
// jobs, each with its build and helper containers and two service
// containers (QuotaServices), at their requests (CPU, memory) and limits
// (memory, ephemeral storage). executor.quota overrides each total, or turns
// the quota off.
type JobQuota struct {
	Pods                     int64
	CPURequests              resource.Quantity
	MemoryRequests           resource.Quantity
	MemoryLimits             resource.Quantity
	EphemeralStorageRequests resource.Quantity
	EphemeralStorageLimits   resource.Quantity
}

// jobQuota sizes a (validated, defaulted) fleet's share.
func jobQuota(s FleetSettings) JobQuota {
	e, q := s.Executor, s.Executor.Quota
	jobs := int64(*s.Manager.Replicas) * int64(s.Manager.Concurrent)
	perJob := func(build, helper, service string) resource.Quantity {
		sum := mustQuantity(build)
		sum.Add(mustQuantity(helper))
		svc := mustQuantity(service)
		for range QuotaServices {
			sum.Add(svc)
		}
		return sum
	}
	times := func(q resource.Quantity, n int64) resource.Quantity {
		out := resource.Quantity{Format: q.Format}
		for range n {
			out.Add(q)
		}
		return out
	}
	out := JobQuota{
		Pods:                     jobs,
		CPURequests:              times(perJob(e.Build.CPURequest, e.Helper.CPURequest, e.Service.CPURequest), jobs),
		MemoryRequests:           times(perJob(e.Build.MemoryRequest, e.Helper.MemoryRequest, e.Service.MemoryRequest), jobs),
		MemoryLimits:             times(perJob(e.Build.MemoryLimit, e.Helper.MemoryLimit, e.Service.MemoryLimit), jobs),
		EphemeralStorageRequests: times(perJob(e.Build.EphemeralStorageRequest, e.Helper.EphemeralStorageRequest, e.Service.EphemeralStorageRequest), jobs),
		EphemeralStorageLimits:   times(perJob(e.Build.EphemeralStorageLimit, e.Helper.EphemeralStorageLimit, e.Service.EphemeralStorageLimit), jobs),
	}
	if q.Pods > 0 {
		out.Pods = int64(q.Pods)
	}
	if q.CPU != "" {
		out.CPURequests = mustQuantity(q.CPU)
	}
	if q.Memory != "" {
		out.MemoryLimits = mustQuantity(q.Memory)
		if out.MemoryRequests.Cmp(out.MemoryLimits) > 0 {
			out.MemoryRequests = out.MemoryLimits
		}
	}
	if q.EphemeralStorage != "" {
		out.EphemeralStorageLimits = mustQuantity(q.EphemeralStorage)
		if out.EphemeralStorageRequests.Cmp(out.EphemeralStorageLimits) > 0 {
			out.EphemeralStorageRequests = out.EphemeralStorageLimits
		}
	}
	return out
}

func (a JobQuota) plus(b JobQuota) JobQuota {
	a.Pods += b.Pods
	for _, pair := range []struct{ to, from *resource.Quantity }{
		{&a.CPURequests, &b.CPURequests}, {&a.MemoryRequests, &b.MemoryRequests}, {&a.MemoryLimits, &b.MemoryLimits},
		{&a.EphemeralStorageRequests, &b.EphemeralStorageRequests}, {&a.EphemeralStorageLimits, &b.EphemeralStorageLimits},
	} {
		pair.to.Add(*pair.from)
	}
	return a
}

// Hard is the ResourceQuota's spec.hard.
func (a JobQuota) Hard() map[string]string {
	return map[string]string{
		"pods":                       strconv.FormatInt(a.Pods, 10),
		"requests.cpu":               a.CPURequests.String(),
		"requests.memory":            a.MemoryRequests.String(),
		"limits.memory":              a.MemoryLimits.String(),
		"requests.ephemeral-storage": a.EphemeralStorageRequests.String(),
		"limits.ephemeral-storage":   a.EphemeralStorageLimits.String(),
	}
}

// mustQuantity parses a quantity Validate has checked; empty is zero.
func mustQuantity(s string) resource.Quantity {
	if s == "" {
		return resource.Quantity{}
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		panic(fmt.Sprintf("quantity %q was not validated: %v", s, err))
	}
	return q
}
