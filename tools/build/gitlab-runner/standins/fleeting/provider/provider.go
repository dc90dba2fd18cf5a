// Package provider is the stand-in for fleeting's plugin-facing types: only
// data the runner's autoscaler code fills in and reads.
package provider

import "time"

// InstanceGroup is a cloud plugin's group of instances.
type InstanceGroup interface{}

// Protocol is how the runner connects to an instance.
type Protocol string

// Capability is something a plugin may support.
type Capability string

// CapabilitySuspendResume is a plugin's support for suspended environments.
const CapabilitySuspendResume Capability = "suspend_resume"

// ConnectorConfig is how to connect to an instance.
type ConnectorConfig struct {
	OS                   string
	Arch                 string
	Protocol             Protocol
	ProtocolPort         int
	Username             string
	Password             string
	Key                  []byte
	UseStaticCredentials bool
	Keepalive            time.Duration
	Timeout              time.Duration
}

// ConnectInfo is one instance's address and credentials.
type ConnectInfo struct {
	ConnectorConfig

	ID           string
	InternalAddr string
	ExternalAddr string
}

// Settings are an instance group's settings.
type Settings struct {
	ConnectorConfig ConnectorConfig
}
