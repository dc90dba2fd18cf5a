// Package runnerlab holds tests only: GitLab Runner's own code run in
// process on what the fleet renders.
package runnerlab
