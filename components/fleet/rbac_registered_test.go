package fleet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The Role as registered, every field of every rule, against the runner's
// documented permissions for the default options (written out here, not
// taken from RoleRules).
func TestRegisteredRoleIsExactlyTheDocumentedOne(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	registered := m.Find(tRole, "builds-executor")
	require.NotNil(t, registered)
	var role rbacv1.Role
	decode(t, *registered, &role)
	core := func(resource string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{resource}, Verbs: verbs}
	}
	assert.Equal(t, []rbacv1.PolicyRule{
		core("events", "list"),
		core("pods", "create", "delete", "get", "list", "watch"),
		core("pods/attach", "create", "delete", "get", "patch"),
		core("pods/exec", "create", "delete", "get", "patch"),
		core("pods/log", "get", "list"),
		core("secrets", "create", "delete", "get", "update"),
		core("serviceaccounts", "get"),
		core("services", "create", "get"),
	}, role.Rules)
	for _, r := range role.Rules {
		for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs} {
			assert.NotContains(t, field, "*")
		}
		assert.Empty(t, r.ResourceNames)
		assert.Empty(t, r.NonResourceURLs)
	}
}
