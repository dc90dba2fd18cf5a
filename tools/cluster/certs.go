package cluster

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ServiceClusterIPRange is the range kube-apiserver allocates Service IPs
// from; ServiceClusterIP (its first address) is the "kubernetes" Service,
// which must be a SAN of the apiserver's serving certificate.
const (
	ServiceClusterIPRange = "10.0.0.0/24"
	ServiceClusterIP      = "10.0.0.1"
	// PodCIDR is the range pod IPs come from (kwok's own default,
	// 10.0.0.0/24, overlaps the Service range): kwok's half and the pod
	// runner's half (KwokPodCIDR, RunnerPodCIDR).
	PodCIDR = "10.244.0.0/16"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// Leaf certificates closer than this to expiry are re-issued on start.
	renewBefore = 30 * 24 * time.Hour
)

// Cert names (files <name>.crt and <name>.key under PKI.Dir).
const (
	CertCA                       = "ca"
	CertAPIServer                = "kube-apiserver"
	CertAdmin                    = "admin"
	CertControllerManager        = "kube-controller-manager"
	CertScheduler                = "kube-scheduler"
	CertKwok                     = "kwok"
	CertPodRunner                = "pod-runner"
	CertControllerManagerServing = "kube-controller-manager-serving"
	CertSchedulerServing         = "kube-scheduler-serving"
	CertKwokServing              = "kwok-serving"
	// CertFrontProxyClient is how kube-apiserver authenticates to aggregated
	// API servers (and what fills the requestheader CA that controller-manager
	// and scheduler read from kube-system/extension-apiserver-authentication).
	CertFrontProxyClient = "front-proxy-client"
	// ServiceAccountKey is the service-account token signing key pair
	// (sa.key, private, and sa.pub, public); it is not a certificate.
	ServiceAccountKey = "sa"
)

// CertSpec describes one leaf certificate signed by the cluster CA.
type CertSpec struct {
	Name         string
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	ExtKeyUsage  []x509.ExtKeyUsage
}

var loopbackDNS = []string{"localhost"}
var loopbackIPs = []net.IP{net.ParseIP("127.0.0.1")}

// CertSpecs lists every leaf certificate the control plane needs.
//
// kwok gets O=system:masters: it acts for every fake node at once (node
// status, leases, pod status of all pods bound to its nodes, events,
// impersonation), which neither the Node authorizer (one identity per node,
// system:node:<name>) nor any built-in ClusterRole covers. Writing and keeping
// a dedicated ClusterRole in step with kwok's releases is not worth it for a
// loopback-only development cluster, so kwok runs as a cluster admin, like the
// admin user.
func CertSpecs() []CertSpec {
	server := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return []CertSpec{
		{
			Name:       CertAPIServer,
			CommonName: "kube-apiserver",
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default",
				"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			IPs:         []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(ServiceClusterIP)},
			ExtKeyUsage: server,
		},
		{Name: CertAdmin, CommonName: "admin", Organization: []string{"system:masters"}, ExtKeyUsage: client},
		{Name: CertControllerManager, CommonName: "system:kube-controller-manager", ExtKeyUsage: client},
		{Name: CertScheduler, CommonName: "system:kube-scheduler", ExtKeyUsage: client},
		{Name: CertKwok, CommonName: "kwok-controller", Organization: []string{"system:masters"}, ExtKeyUsage: client},
		// The pod runner, like kwok, acts for every fake node (pod status,
		// pod removal, events) and asks for every pod's ServiceAccount
		// tokens, which no narrower built-in role covers.
		{Name: CertPodRunner, CommonName: "glrf-pod-runner", Organization: []string{"system:masters"}, ExtKeyUsage: client},
		{Name: CertFrontProxyClient, CommonName: "front-proxy-client", ExtKeyUsage: client},
		{Name: CertControllerManagerServing, CommonName: "kube-controller-manager", DNSNames: loopbackDNS, IPs: loopbackIPs, ExtKeyUsage: server},
		{Name: CertSchedulerServing, CommonName: "kube-scheduler", DNSNames: loopbackDNS, IPs: loopbackIPs, ExtKeyUsage: server},
		{Name: CertKwokServing, CommonName: "kwok-controller", DNSNames: loopbackDNS, IPs: loopbackIPs, ExtKeyUsage: server},
	}
}

// PKI is the folder holding the cluster's keys and certificates.
type PKI struct {
	Dir string
}

// CertFile is the PEM certificate of name.
func (p PKI) CertFile(name string) string { return filepath.Join(p.Dir, name+".crt") }

// KeyFile is the PEM private key of name.
func (p PKI) KeyFile(name string) string { return filepath.Join(p.Dir, name+".key") }

// ServiceAccountPublicKeyFile is the PEM public key that verifies
// service-account tokens.
func (p PKI) ServiceAccountPublicKeyFile() string {
	return filepath.Join(p.Dir, ServiceAccountKey+".pub")
}

// ServiceAccountPrivateKeyFile is the PEM private key that signs
// service-account tokens.
func (p PKI) ServiceAccountPrivateKeyFile() string { return p.KeyFile(ServiceAccountKey) }

// Ensure creates whatever is missing, invalid, not signed by the current CA,
// not matching its spec or close to expiry, and keeps everything else, so a
// restart reuses the existing certificates. It reports the names it (re)made.
func (p PKI) Ensure() ([]string, error) {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return nil, err
	}
	var made []string
	caCert, caKey, err := p.loadPair(CertCA)
	if err != nil || !caCert.IsCA || time.Until(caCert.NotAfter) < renewBefore {
		caCert, caKey, err = p.newCA()
		if err != nil {
			return nil, fmt.Errorf("generate CA: %w", err)
		}
		made = append(made, CertCA)
	}
	for _, spec := range CertSpecs() {
		cert, _, err := p.loadPair(spec.Name)
		if err == nil && leafUpToDate(cert, caCert, spec) {
			continue
		}
		if err := p.newLeaf(spec, caCert, caKey); err != nil {
			return nil, fmt.Errorf("generate %s certificate: %w", spec.Name, err)
		}
		made = append(made, spec.Name)
	}
	if _, err := p.loadServiceAccountKey(); err != nil {
		if err := p.newServiceAccountKey(); err != nil {
			return nil, fmt.Errorf("generate service-account key: %w", err)
		}
		made = append(made, ServiceAccountKey)
	}
	return made, nil
}

func leafUpToDate(cert, ca *x509.Certificate, spec CertSpec) bool {
	if time.Until(cert.NotAfter) < renewBefore {
		return false
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: spec.ExtKeyUsage}); err != nil {
		return false
	}
	if cert.Subject.CommonName != spec.CommonName || !slices.Equal(cert.Subject.Organization, spec.Organization) {
		return false
	}
	if !slices.Equal(cert.DNSNames, spec.DNSNames) || len(cert.IPAddresses) != len(spec.IPs) {
		return false
	}
	for i, ip := range spec.IPs {
		if !cert.IPAddresses[i].Equal(ip) {
			return false
		}
	}
	return true
}

func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func (p PKI) newCA() (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "gitlab-runner-fleet-local-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, p.writePair(CertCA, der, key)
}

func (p PKI) newLeaf(spec CertSpec, ca *x509.Certificate, caKey crypto.Signer) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	sn, err := serial()
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  spec.ExtKeyUsage,
		DNSNames:     spec.DNSNames,
		IPAddresses:  spec.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return err
	}
	return p.writePair(spec.Name, der, key)
}

func (p PKI) newServiceAccountKey() error {
	key, err := newKey()
	if err != nil {
		return err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := writeFile(p.ServiceAccountPrivateKeyFile(), pemBlock("PRIVATE KEY", priv), 0o600); err != nil {
		return err
	}
	return writeFile(p.ServiceAccountPublicKeyFile(), pemBlock("PUBLIC KEY", pub), 0o644)
}

func (p PKI) loadServiceAccountKey() (crypto.Signer, error) {
	key, err := readKey(p.ServiceAccountPrivateKeyFile())
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p.ServiceAccountPublicKeyFile())
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("sa.pub: no PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
		return nil, errors.New("sa.pub does not match sa.key")
	}
	return key, nil
}

func (p PKI) writePair(name string, der []byte, key crypto.Signer) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// Key first: a crash between the two writes leaves a pair that fails to
	// load and is regenerated.
	if err := writeFile(p.KeyFile(name), pemBlock("PRIVATE KEY", keyDER), 0o600); err != nil {
		return err
	}
	return writeFile(p.CertFile(name), pemBlock("CERTIFICATE", der), 0o644)
}

// loadPair reads and checks the certificate and key of name.
func (p PKI) loadPair(name string) (*x509.Certificate, crypto.Signer, error) {
	cert, err := ReadCert(p.CertFile(name))
	if err != nil {
		return nil, nil, err
	}
	key, err := readKey(p.KeyFile(name))
	if err != nil {
		return nil, nil, err
	}
	if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s: key does not match certificate", name)
	}
	return cert, key, nil
}

// ReadCert parses the first PEM certificate in path.
func ReadCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported key type %T", path, key)
	}
	return signer, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeFile replaces path atomically (temp file + rename) with mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return os.Chmod(path, mode)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
