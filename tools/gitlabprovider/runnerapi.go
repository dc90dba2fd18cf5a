package gitlabprovider

import (
	"context"
	"strconv"
)

// The few GitLab REST calls UserRunner needs, with the fields it reads.

// createdRunner is the answer of POST /user/runners.
type createdRunner struct {
	ID    int64  `json:"id"`
	Token string `json:"token"`
}

// runnerDetails is the part of GET/PUT /runners/:id that UserRunner maps.
type runnerDetails struct {
	ID              int64    `json:"id"`
	Description     string   `json:"description"`
	Paused          bool     `json:"paused"`
	RunnerType      string   `json:"runner_type"`
	TagList         []string `json:"tag_list"`
	RunUntagged     bool     `json:"run_untagged"`
	Locked          bool     `json:"locked"`
	AccessLevel     string   `json:"access_level"`
	MaximumTimeout  *int64   `json:"maximum_timeout"`
	MaintenanceNote *string  `json:"maintenance_note"`
	Groups          []struct {
		ID int64 `json:"id"`
	} `json:"groups"`
	Projects []struct {
		ID int64 `json:"id"`
	} `json:"projects"`
}

func runnerPath(id int64) string { return "runners/" + strconv.FormatInt(id, 10) }

func (c *client) createRunner(ctx context.Context, a runnerArgs) (*createdRunner, error) {
	var out createdRunner
	if err := c.do(ctx, "POST", "user/runners", a.createBody(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *client) getRunner(ctx context.Context, id int64) (*runnerDetails, error) {
	var out runnerDetails
	if err := c.do(ctx, "GET", runnerPath(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *client) updateRunner(ctx context.Context, id int64, body map[string]any) (*runnerDetails, error) {
	var out runnerDetails
	if err := c.do(ctx, "PUT", runnerPath(id), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *client) deleteRunner(ctx context.Context, id int64) error {
	return c.do(ctx, "DELETE", runnerPath(id), nil, nil)
}
