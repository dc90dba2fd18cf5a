package mocks

import (
	"context"
	"net"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Pulumi's own mock monitor drops unknown values, so it cannot carry an
// unknown secret, which is exactly what a preview of this program holds (the
// token of a runner not created yet, inside a Secret). monitor is a minimal
// resource monitor served over gRPC that keeps unknowns and secrets, so
// previews run against the same recording Mocks.
type monitor struct {
	pulumirpc.UnimplementedResourceMonitorServer
	mocks          *Mocks
	project, stack string
}

func (m *monitor) SupportsFeature(_ context.Context, req *pulumirpc.SupportsFeatureRequest) (*pulumirpc.SupportsFeatureResponse, error) {
	// Without outputValues the SDK sends plain unknowns and secrets, as to the engine of old.
	return &pulumirpc.SupportsFeatureResponse{HasSupport: req.GetId() != "outputValues"}, nil
}

func (m *monitor) RegisterResource(_ context.Context, req *pulumirpc.RegisterResourceRequest) (*pulumirpc.RegisterResourceResponse, error) {
	var parentType tokens.Type
	if parent := resource.URN(req.GetParent()); parent != "" {
		parentType = parent.QualifiedType()
	}
	urn := resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), parentType, tokens.Type(req.GetType()), req.GetName())
	if req.GetType() == string(resource.RootStackType) {
		return &pulumirpc.RegisterResourceResponse{Urn: string(urn)}, nil
	}
	opts := plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}
	inputs, err := plugin.UnmarshalProperties(req.GetObject(), opts)
	if err != nil {
		return nil, err
	}
	id, state, err := m.mocks.NewResource(pulumi.MockResourceArgs{
		TypeToken: req.GetType(), Name: req.GetName(), Inputs: inputs, Custom: req.GetCustom(), RegisterRPC: req,
	})
	if err != nil {
		return nil, err
	}
	object, err := plugin.MarshalProperties(state, opts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.RegisterResourceResponse{Urn: string(urn), Id: id, Object: object}, nil
}

func (m *monitor) ReadResource(_ context.Context, req *pulumirpc.ReadResourceRequest) (*pulumirpc.ReadResourceResponse, error) {
	var parentType tokens.Type
	if parent := resource.URN(req.GetParent()); parent != "" {
		parentType = parent.QualifiedType()
	}
	urn := resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), parentType, tokens.Type(req.GetType()), req.GetName())
	opts := plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), opts)
	if err != nil {
		return nil, err
	}
	_, state, err := m.mocks.NewResource(pulumi.MockResourceArgs{TypeToken: req.GetType(), Name: req.GetName(), Inputs: inputs, ID: req.GetId(), ReadRPC: req})
	if err != nil {
		return nil, err
	}
	object, err := plugin.MarshalProperties(state, opts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResourceResponse{Urn: string(urn), Properties: object}, nil
}

// RegisterResourceOutputs records the stack's outputs (ctx.Export).
func (m *monitor) RegisterResourceOutputs(_ context.Context, req *pulumirpc.RegisterResourceOutputsRequest) (*emptypb.Empty, error) {
	if resource.URN(req.GetUrn()).Type() != resource.RootStackType {
		return &emptypb.Empty{}, nil
	}
	outputs, err := plugin.UnmarshalProperties(req.GetOutputs(), plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	if err != nil {
		return nil, err
	}
	m.mocks.mu.Lock()
	m.mocks.stackOutputs = outputs
	m.mocks.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// engine records the program's log messages.
type engine struct {
	pulumirpc.UnimplementedEngineServer
	mocks *Mocks
}

func (e engine) Log(_ context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.mocks.mu.Lock()
	e.mocks.logs = append(e.mocks.logs, Log{Severity: req.GetSeverity().String(), Message: req.GetMessage()})
	e.mocks.mu.Unlock()
	return &emptypb.Empty{}, nil
}

func (engine) GetRootResource(context.Context, *pulumirpc.GetRootResourceRequest) (*pulumirpc.GetRootResourceResponse, error) {
	return &pulumirpc.GetRootResourceResponse{}, nil
}

func (engine) SetRootResource(context.Context, *pulumirpc.SetRootResourceRequest) (*pulumirpc.SetRootResourceResponse, error) {
	return &pulumirpc.SetRootResourceResponse{}, nil
}

// RunPreview runs a program as `pulumi preview` would: a dry run in which
// provider-computed outputs, such as a new runner's token, are unknown.
func RunPreview(program pulumi.RunFunc, config map[string]string, secretKeys []string) (*Mocks, error) {
	return runOverGRPC(program, config, secretKeys, true)
}

// RunUp runs a program as `pulumi up` would, like Run, and records what
// Run cannot: the program's log messages (Logs) and the stack's outputs
// (StackOutputs).
func RunUp(program pulumi.RunFunc, config map[string]string, secretKeys []string) (*Mocks, error) {
	return runOverGRPC(program, config, secretKeys, false)
}

func runOverGRPC(program pulumi.RunFunc, config map[string]string, secretKeys []string, dryRun bool) (*Mocks, error) {
	m := &Mocks{Preview: dryRun}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	server := grpc.NewServer()
	pulumirpc.RegisterResourceMonitorServer(server, &monitor{mocks: m, project: "gitlab-runner-fleet", stack: "test"})
	pulumirpc.RegisterEngineServer(server, engine{mocks: m})
	go func() { _ = server.Serve(listener) }()
	defer server.Stop()

	err = pulumi.RunErr(program, func(info *pulumi.RunInfo) {
		info.Project, info.Stack = "gitlab-runner-fleet", "test"
		info.MonitorAddr = listener.Addr().String()
		info.EngineAddr = listener.Addr().String()
		info.Config, info.ConfigSecretKeys = config, secretKeys
		info.DryRun = dryRun
	})
	return m, err
}
