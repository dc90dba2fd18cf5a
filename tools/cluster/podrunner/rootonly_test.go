package podrunner

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPeerUID(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server, err := l.Accept()
	require.NoError(t, err)
	defer server.Close()

	uid, err := peerUID(server)
	require.NoError(t, err)
	assert.Equal(t, os.Getuid(), uid, "the caller's socket is this process's")
	uid, err = peerUID(client)
	require.NoError(t, err, "the other way round too")
	assert.Equal(t, os.Getuid(), uid)
}
