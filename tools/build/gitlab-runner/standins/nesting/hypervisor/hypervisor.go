// Package hypervisor is the stand-in for nesting's VM description.
package hypervisor

// VirtualMachine is a VM the nesting daemon runs.
type VirtualMachine interface {
	GetId() string
	GetAddr() string
}
