package status

import (
	"context"
	"fmt"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// WaitIdle waits until none of the runners runs a job, reading GitLab
// every interval and calling progress with the jobs still running, by
// runner. It is the drain before maintenance: pause the runners first
// (runner.paused: true, then `up`), so that no new job starts, then wait
// here for the running ones to end. It returns when they have, or with
// ctx's error when ctx ends first (a timeout the caller chose).
func WaitIdle(ctx context.Context, gl *gitlab.Client, runners []int64, every time.Duration, progress func(running map[int64][]int64)) error {
	if gl == nil {
		return fmt.Errorf("waiting for running jobs needs GitLab: set gitlab:token or GITLAB_TOKEN")
	}
	for {
		running := map[int64][]int64{}
		for _, id := range runners {
			jobs, err := runningJobs(ctx, gl, id)
			if err != nil {
				return fmt.Errorf("reading runner %d's running jobs: %w", id, err)
			}
			if len(jobs) > 0 {
				running[id] = jobs
			}
		}
		if progress != nil {
			progress(running)
		}
		if len(running) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jobs still running: %v: %w", running, ctx.Err())
		case <-time.After(every):
		}
	}
}
