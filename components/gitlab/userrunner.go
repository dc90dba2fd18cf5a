// Package gitlab declares the pulumi-gitlab resource this project uses.
//
// The official Go SDK (github.com/pulumi/pulumi-gitlab/sdk/v8/go/gitlab) is not
// available everywhere this program is built, so the resource is declared
// here with the same type tokens, property names and Go names as the published
// 8.11.0 schema. Code written against this package compiles unchanged against
// the official SDK: swap the import path and nothing else.
package gitlab

import (
	"errors"
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PluginVersion is the pulumi-gitlab provider plugin these declarations match.
const PluginVersion = "8.11.0"

// UserRunnerType is the type token of the UserRunner resource.
const UserRunnerType = "gitlab:index/userRunner:UserRunner"

// UserRunner creates a runner in GitLab through the current user
// (POST /user/runners) and exposes its authentication token (glrt-...).
// Changing RunnerType, GroupId or ProjectId replaces the runner and its token.
type UserRunner struct {
	pulumi.CustomResourceState

	AccessLevel     pulumi.StringOutput      `pulumi:"accessLevel"`
	Description     pulumi.StringOutput      `pulumi:"description"`
	GroupId         pulumi.IntPtrOutput      `pulumi:"groupId"`
	Locked          pulumi.BoolOutput        `pulumi:"locked"`
	MaintenanceNote pulumi.StringOutput      `pulumi:"maintenanceNote"`
	MaximumTimeout  pulumi.IntOutput         `pulumi:"maximumTimeout"`
	Paused          pulumi.BoolOutput        `pulumi:"paused"`
	ProjectId       pulumi.IntPtrOutput      `pulumi:"projectId"`
	RunnerType      pulumi.StringOutput      `pulumi:"runnerType"`
	TagLists        pulumi.StringArrayOutput `pulumi:"tagLists"`
	// Token is the runner authentication token. It is always a secret.
	Token    pulumi.StringOutput `pulumi:"token"`
	Untagged pulumi.BoolOutput   `pulumi:"untagged"`
}

// userRunnerArgs is the wire shape of the resource's inputs.
type userRunnerArgs struct {
	AccessLevel     *string  `pulumi:"accessLevel"`
	Description     *string  `pulumi:"description"`
	GroupId         *int     `pulumi:"groupId"`
	Locked          *bool    `pulumi:"locked"`
	MaintenanceNote *string  `pulumi:"maintenanceNote"`
	MaximumTimeout  *int     `pulumi:"maximumTimeout"`
	Paused          *bool    `pulumi:"paused"`
	ProjectId       *int     `pulumi:"projectId"`
	RunnerType      string   `pulumi:"runnerType"`
	TagLists        []string `pulumi:"tagLists"`
	Untagged        *bool    `pulumi:"untagged"`
}

// UserRunnerArgs are the inputs of a UserRunner, named as in the official SDK.
type UserRunnerArgs struct {
	// AccessLevel is `not_protected` or `ref_protected`.
	AccessLevel pulumi.StringPtrInput
	// Description of the runner.
	Description pulumi.StringPtrInput
	// GroupId is required when RunnerType is `group_type`.
	GroupId pulumi.IntPtrInput
	// Locked ties a project runner to its current project.
	Locked pulumi.BoolPtrInput
	// MaintenanceNote is a free-form note (1024 characters at most).
	MaintenanceNote pulumi.StringPtrInput
	// MaximumTimeout caps job run time in seconds (at least 600).
	MaximumTimeout pulumi.IntPtrInput
	// Paused runners take no new jobs.
	Paused pulumi.BoolPtrInput
	// ProjectId is required when RunnerType is `project_type`.
	ProjectId pulumi.IntPtrInput
	// RunnerType is `instance_type`, `group_type` or `project_type`.
	RunnerType pulumi.StringInput
	// TagLists are the runner's tags.
	TagLists pulumi.StringArrayInput
	// Untagged runners also pick jobs without tags.
	Untagged pulumi.BoolPtrInput
}

// ElementType ties UserRunnerArgs to its wire shape for the Pulumi SDK.
func (UserRunnerArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*userRunnerArgs)(nil)).Elem()
}

// NewUserRunner registers a new UserRunner.
func NewUserRunner(ctx *pulumi.Context, name string, args *UserRunnerArgs, opts ...pulumi.ResourceOption) (*UserRunner, error) {
	if args == nil || args.RunnerType == nil {
		return nil, errors.New("missing one or more required arguments: RunnerType")
	}
	// The token is a credential: keep it encrypted in state and masked in output.
	opts = append([]pulumi.ResourceOption{
		pulumi.Version(PluginVersion),
		pulumi.AdditionalSecretOutputs([]string{"token"}),
	}, opts...)
	var resource UserRunner
	if err := ctx.RegisterResource(UserRunnerType, name, args, &resource, opts...); err != nil {
		return nil, err
	}
	return &resource, nil
}
