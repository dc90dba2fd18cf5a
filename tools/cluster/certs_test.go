package cluster

import (
	"bytes"
	"crypto/x509"
	"net"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPKIEnsureGeneratesVerifiableCerts(t *testing.T) {
	pki := PKI{Dir: t.TempDir()}
	made, err := pki.Ensure()
	require.NoError(t, err)
	assert.Contains(t, made, CertCA)
	assert.Contains(t, made, ServiceAccountKey)

	ca, err := ReadCert(pki.CertFile(CertCA))
	require.NoError(t, err)
	assert.True(t, ca.IsCA)
	assert.NotZero(t, ca.KeyUsage&x509.KeyUsageCertSign)
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	for _, spec := range CertSpecs() {
		t.Run(spec.Name, func(t *testing.T) {
			cert, err := ReadCert(pki.CertFile(spec.Name))
			require.NoError(t, err)
			assert.False(t, cert.IsCA)
			assert.Equal(t, spec.CommonName, cert.Subject.CommonName)
			assert.Equal(t, spec.Organization, cert.Subject.Organization)
			assert.Equal(t, spec.ExtKeyUsage, cert.ExtKeyUsage)
			_, err = cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: spec.ExtKeyUsage})
			require.NoError(t, err, "chain to the CA")
			// A client certificate is not a serving one and vice versa.
			other := x509.ExtKeyUsageServerAuth
			if slices.Contains(spec.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
				other = x509.ExtKeyUsageClientAuth
			}
			_, err = cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{other}})
			assert.Error(t, err)

			st, err := os.Stat(pki.KeyFile(spec.Name))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "private key readable by owner only")
		})
	}

	api, err := ReadCert(pki.CertFile(CertAPIServer))
	require.NoError(t, err)
	for _, name := range []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"} {
		assert.Contains(t, api.DNSNames, name)
		assert.NoError(t, api.VerifyHostname(name))
	}
	for _, ip := range []string{"127.0.0.1", ServiceClusterIP} {
		assert.NoError(t, api.VerifyHostname(ip), ip)
	}
	_, svc, _ := net.ParseCIDR(ServiceClusterIPRange)
	assert.True(t, svc.Contains(net.ParseIP(ServiceClusterIP)), "kubernetes Service IP inside the Service range")
	assert.Error(t, api.VerifyHostname("example.com"))

	admin, err := ReadCert(pki.CertFile(CertAdmin))
	require.NoError(t, err)
	assert.Equal(t, "admin", admin.Subject.CommonName)
	assert.Equal(t, []string{"system:masters"}, admin.Subject.Organization)
	kcm, err := ReadCert(pki.CertFile(CertControllerManager))
	require.NoError(t, err)
	assert.Equal(t, "system:kube-controller-manager", kcm.Subject.CommonName)
	sched, err := ReadCert(pki.CertFile(CertScheduler))
	require.NoError(t, err)
	assert.Equal(t, "system:kube-scheduler", sched.Subject.CommonName)

	_, err = pki.loadServiceAccountKey()
	require.NoError(t, err, "sa.pub matches sa.key")
}

func TestPKIEnsureReusesAndRepairs(t *testing.T) {
	pki := PKI{Dir: t.TempDir()}
	_, err := pki.Ensure()
	require.NoError(t, err)
	caBefore, err := os.ReadFile(pki.CertFile(CertCA))
	require.NoError(t, err)
	apiBefore, err := os.ReadFile(pki.CertFile(CertAPIServer))
	require.NoError(t, err)

	made, err := pki.Ensure()
	require.NoError(t, err)
	assert.Empty(t, made, "second run reuses everything")
	apiAfter, _ := os.ReadFile(pki.CertFile(CertAPIServer))
	assert.True(t, bytes.Equal(apiBefore, apiAfter))

	// A damaged certificate is re-issued by the same CA; the rest stays.
	require.NoError(t, os.WriteFile(pki.CertFile(CertScheduler), []byte("garbage"), 0o644))
	made, err = pki.Ensure()
	require.NoError(t, err)
	assert.Equal(t, []string{CertScheduler}, made)
	caAfter, _ := os.ReadFile(pki.CertFile(CertCA))
	assert.True(t, bytes.Equal(caBefore, caAfter))

	// A new CA re-issues every leaf.
	require.NoError(t, os.Remove(pki.KeyFile(CertCA)))
	made, err = pki.Ensure()
	require.NoError(t, err)
	assert.Len(t, made, 1+len(CertSpecs()))
}
