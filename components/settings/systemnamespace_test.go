package settings_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every kube-* namespace is the cluster's, not only the three that exist
// everywhere: kube-flannel, kube-prometheus, ...
func TestAnyKubePrefixedNamespaceIsRefused(t *testing.T) {
	for setting, ns := range map[string]string{"namespace": "kube-flannel", "jobNamespace": "kube-ci"} {
		ps := planned(fleetWith(t, `{"`+setting+`":"`+ns+`"}`))
		assert.Contains(t, ps.Err().Error(), `fleets[0] (builds).`+setting+`: "`+ns+`" is a system namespace`, setting)
	}
}
