package gitlabprovider

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// The UserRunner lifecycle: Check, Create, Read, Update, Delete (Diff is in
// diff.go).

// Marshalling options: keep unknowns (previews) and secrets (the provider
// accepts them), drop nulls (a null input is an input left out).
var (
	inOpts  = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
	outOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}
)

// checkType refuses any resource type other than UserRunner.
func checkType(typ, urn string) error {
	if typ == "" && urn != "" {
		typ = string(resource.URN(urn).Type())
	}
	if typ != "" && typ != UserRunnerType {
		return status.Errorf(codes.Unimplemented,
			"the offline stand-in gitlab provider serves only %s, not %s", UserRunnerType, typ)
	}
	return nil
}

// parseID reads a resource id, which is GitLab's runner id.
func parseID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, status.Errorf(codes.InvalidArgument, "UserRunner id %q is not a GitLab runner id", id)
	}
	return n, nil
}

// Check validates the inputs and returns them unchanged.
func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), inOpts)
	if err != nil {
		return nil, err
	}
	_, failures := decodeArgs(news)
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

// Create makes the runner (POST /user/runners) and reads it back for the
// values GitLab chose. The token is a secret output.
func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), inOpts)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := plugin.MarshalProperties(previewOutputs(inputs, nil), outOpts)
		return &pulumirpc.CreateResponse{Properties: props}, err
	}
	args, failures := decodeArgs(inputs)
	if len(failures) > 0 {
		return nil, status.Error(codes.InvalidArgument, failures[0].Reason)
	}
	c, err := p.getClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := p.opContext(ctx, req.GetTimeout())
	defer cancel()

	// The official provider's messages, with client-go's errors (method,
	// URL, status and GitLab's message).
	created, err := createRunner(ctx, c, args)
	if err != nil {
		return nil, fmt.Errorf("couldn't create new GitLab Runner: %w", err)
	}
	id := strconv.FormatInt(created.ID, 10)
	token := resource.NewStringProperty(created.Token)
	details, err := getRunner(ctx, c, created.ID)
	if err != nil {
		// The runner exists: hand its id and token to the engine so that it
		// is recorded (and deleted or refreshed later), not leaked. Only
		// known values: the engine refuses unknowns outside a preview.
		outs := partialOutputs(inputs, token)
		return nil, initFailed(id, outs, fmt.Errorf("error reading new GitLab runner %s after creation: %w", id, err))
	}
	props, err := plugin.MarshalProperties(runnerOutputs(details, &token, inputs), outOpts)
	if err != nil {
		return nil, err
	}
	p.logf(ctx, diag.Debug, req.GetUrn(), "created GitLab runner %s (%s)", id, args.RunnerType)
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// initFailed reports a resource that exists but is not fully set up.
func initFailed(id string, outs resource.PropertyMap, cause error) error {
	st := status.New(codes.Unknown, cause.Error())
	props, err := plugin.MarshalProperties(outs, outOpts)
	if err != nil {
		return cause
	}
	withDetails, err := st.WithDetails(&pulumirpc.ErrorResourceInitFailed{
		Id: id, Properties: props, Reasons: []string{cause.Error()},
	})
	if err != nil {
		return cause
	}
	return withDetails.Err()
}

// Read refreshes the state from GET /runners/:id. A runner deleted in
// GitLab reads as an empty id, which tells the engine it is gone. The token
// is kept from the state: GitLab never returns it again.
func (p *Provider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	id, err := parseID(req.GetId())
	if err != nil {
		return nil, err
	}
	state, err := plugin.UnmarshalProperties(req.GetProperties(), inOpts)
	if err != nil {
		return nil, err
	}
	oldInputs, err := plugin.UnmarshalProperties(req.GetInputs(), inOpts)
	if err != nil {
		return nil, err
	}
	c, err := p.getClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := p.opContext(ctx, req.GetTimeout())
	defer cancel()

	details, err := getRunner(ctx, c, id)
	if isNotFound(err) {
		return &pulumirpc.ReadResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read runner details due to API error: %w", err)
	}
	var token *resource.PropertyValue
	if t, ok := state[pToken]; ok {
		token = &t
	}
	outs := runnerOutputs(details, token, state)

	// New inputs: the old inputs with the values GitLab has now, so that a
	// refresh shows drift as a diff against the program. Without old inputs
	// (an import), every input GitLab returns: not groupId or projectId,
	// which the official provider does not read back either.
	inputs := resource.PropertyMap{}
	for k, v := range outs {
		if !isInputKey(string(k)) {
			continue
		}
		if req.GetInputs() == nil {
			inputs[k] = v
		} else if _, ok := oldInputs[k]; ok {
			inputs[k] = v
		}
	}
	props, err := plugin.MarshalProperties(outs, outOpts)
	if err != nil {
		return nil, err
	}
	ins, err := plugin.MarshalProperties(inputs, outOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: ins}, nil
}

// Update changes the runner in place (PUT /runners/:id) with every input
// that is set; the token does not change.
func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	id, err := parseID(req.GetId())
	if err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), inOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), inOpts)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := plugin.MarshalProperties(previewOutputs(news, olds), outOpts)
		return &pulumirpc.UpdateResponse{Properties: props}, err
	}
	args, failures := decodeArgs(news)
	if len(failures) > 0 {
		return nil, status.Error(codes.InvalidArgument, failures[0].Reason)
	}
	c, err := p.getClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := p.opContext(ctx, req.GetTimeout())
	defer cancel()

	details, err := updateRunner(ctx, c, id, args)
	if err != nil {
		return nil, fmt.Errorf("error updating GitLab runner %d: %w", id, err)
	}
	var token *resource.PropertyValue
	if t, ok := olds[pToken]; ok {
		token = &t
	}
	prior := resource.PropertyMap{}
	for k, v := range olds {
		prior[k] = v
	}
	for k, v := range news {
		prior[k] = v
	}
	props, err := plugin.MarshalProperties(runnerOutputs(details, token, prior), outOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete removes the runner and its managers (DELETE /runners/:id). As with
// the official provider, a runner already gone is an error (GitLab's 404):
// the state no longer matches GitLab, and `pulumi refresh` drops the
// runner from the state before the next up or destroy.
func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	id, err := parseID(req.GetId())
	if err != nil {
		return nil, err
	}
	c, err := p.getClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := p.opContext(ctx, req.GetTimeout())
	defer cancel()
	if err := deleteRunner(ctx, c, id); err != nil {
		return nil, fmt.Errorf("unable to delete runner: %w", err)
	}
	return &emptypb.Empty{}, nil
}
