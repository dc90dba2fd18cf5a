package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// etcdValue reads a key straight from etcd, as etcdctl get would, through
// etcd's own JSON gateway to its KV API.
func etcdValue(t *testing.T, ctx context.Context, port int, key string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v3/kv/range", port), bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Kvs []struct {
			Value []byte `json:"value"` // base64 in JSON
		} `json:"kvs"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Len(t, out.Kvs, 1, "etcd holds %s", key)
	return out.Kvs[0].Value
}

// testSecretsEncryptedInEtcd: a Secret written through the API server is
// encrypted in etcd with the cluster's key, and read back plain through the
// API server.
func testSecretsEncryptedInEtcd(t *testing.T, ctx context.Context, cs kubernetes.Interface, cfg Config) {
	const plain = "glrt-plaintext-that-must-not-reach-etcd"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "at-rest", Namespace: "default"}, StringData: map[string]string{"runner-token": plain}}
	_, err := cs.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{})
	require.NoError(t, err)
	stored := etcdValue(t, ctx, cfg.Ports.EtcdClient, "/registry/secrets/default/at-rest")
	assert.True(t, bytes.HasPrefix(stored, []byte("k8s:enc:secretbox:v1:"+encryptionKeyName+":")), "encrypted with the cluster's key: %q", stored[:min(len(stored), 40)])
	assert.NotContains(t, string(stored), plain)
	assert.NotContains(t, string(stored), base64.StdEncoding.EncodeToString([]byte(plain)))
	read, err := cs.CoreV1().Secrets("default").Get(ctx, "at-rest", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, plain, string(read.Data["runner-token"]), "the API server decrypts it")

	configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "at-rest", Namespace: "default"}, Data: map[string]string{"k": "visible"}}
	_, err = cs.CoreV1().ConfigMaps("default").Create(ctx, configMap, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Contains(t, string(etcdValue(t, ctx, cfg.Ports.EtcdClient, "/registry/configmaps/default/at-rest")), "visible",
		"only Secrets are encrypted (the reading above would see plain text)")
}
