// Package gitlab is an offline stand-in for the parts of GitLab's REST API
// that a CI runner's lifecycle and its jobs touch. There is no GitLab
// instance on the development machines or in CI, yet the fleet program
// creates runners through the API (POST /user/runners, what the UserRunner
// resource does), the runner pods verify their tokens against it and poll it
// for jobs, and tests queue jobs and watch them run; this server lets that
// whole flow run and be tested locally. Request and response JSON follow
// GitLab's REST API documentation (Runners, Users, Pipelines, Jobs,
// Protected branches) and, for the endpoints only runners call, the types of
// gitlab-runner's own client (network/gitlab.go, common/network.go,
// common/spec/spec.go).
//
// # Endpoints (all under /api/v4)
//
//	POST   /user/runners          create a runner linked to the current user (201 {id, token, token_expires_at})
//	GET    /runners/all           list every runner (administrators; ?type=, ?status=, ?paused=, ?tag_list=)
//	GET    /runners/:id           runner details
//	PUT    /runners/:id           update description, paused (or active), tag_list, run_untagged, locked,
//	                              access_level, maximum_timeout, maintenance_note (at least one, not both
//	                              active and paused)
//	DELETE /runners/:id           delete the runner and its managers (204)
//	GET    /runners/:id/managers  list the runner managers (one per system_id)
//	GET    /groups/:id/runners    runners a group can use: its own, its ancestors', the instance's (Maintainer+)
//	GET    /projects/:id/runners  runners a project can use: its own, its groups', the instance's (Maintainer+)
//	GET    /groups/:id            a group; GET /projects/:id a project (404 for what the user cannot see)
//	POST   /runners/verify        runner-token auth: 200 {id, token, token_expires_at} or 403; a contact,
//	                              and with a system_id the runner manager's creation
//	POST   /jobs/request          runner-token auth: a job (201) or 204, with long polling (jobrequest.go); a contact
//	PUT    /jobs/:id              job-token auth: the runner's job update (jobapi.go)
//	PATCH  /jobs/:id/trace        job-token auth: a slice of the job's log (jobapi.go)
//	DELETE /runners               runner-token auth: the runner deletes itself (204)
//	DELETE /runners/managers      runner-token auth: removes one manager (what `gitlab-runner unregister` does)
//	GET    /runners/:id/jobs      the runner's jobs, newest first (?status=)
//	POST   /projects/:id/runners  assign a project runner to another project (not a locked one)
//	POST   /projects/:id/pipeline create a pipeline: ref, variables, and ci_config (the stand-in's
//	                              extension: the .gitlab-ci.yml, see pipelines.go and ciconfig.go)
//	GET    /projects/:id/pipelines/:pipeline_id[/jobs]  a pipeline, its jobs (?scope[]=)
//	GET    /projects/:id/jobs[/:job_id[/trace]]         jobs (?scope[]=), a job, its raw log
//	POST   /projects/:id/jobs/:job_id/cancel            cancel a job (201)
//	GET, POST /projects/:id/protected_branches, GET, DELETE .../:name  protected branches
//	GET    /user                  the current user
//	POST   /users/:id/personal_access_tokens  administrators mint a token for a user (201, with the token)
//	GET    /version               {"version":"18.6.0-standin","revision":...}
//
// Outside the API: GET /-/health answers "GitLab OK" (no auth), the
// fault-injection control endpoint described below, and the record of 403s
// on runner endpoints (GET and DELETE /-/standin/forbidden, forbidden.go).
//
// # Jobs
//
// A pipeline's jobs are created from its configuration, stage by stage:
// the first stage's are pending, later stages' created until the earlier
// ones finish (then pending or skipped by their when:). A runner's job
// request gets the oldest pending job it matches (jobqueue.go: scope, tags,
// run_untagged, ref_protected; paused runners get none; instance runners
// serve first the projects with the fewest jobs running on them), with a
// job token (glcbt-...) issued then and stored only as a digest. The runner
// then reports through PUT /jobs/:id and PATCH /jobs/:id/trace, and learns
// of a cancel from their Job-Status header. With Config.LongPollTimeout a
// job request whose last_update is current is held, as Workhorse holds it,
// until a job for the runner is enqueued, the runner changes, or the time
// passes.
//
// Parameters are read from the query string and from the body, which may be
// JSON or form-encoded. tag_list may be a JSON array, a comma-separated
// string, or repeated tag_list[] form fields.
//
// # Users, groups, projects (the seed)
//
// Config.Seed (the --seed file) lists users, groups with members, projects
// with members, and optionally tokens; DefaultSeed describes the built-in
// one: root (administrator), group-owner (Owner of groups 1-999),
// project-maintainer (Maintainer of projects 1-999, in no group), developer
// (a Developer in group 1: may see it, may create no runner). Group 1 is the
// dev stack's. Groups and projects are private.
//
// Who may do what, as in GitLab: an administrator everything; creating a
// group runner needs the Owner role in the group (or an ancestor), a
// project runner the Maintainer role in the project (or Owner of its group),
// an instance runner an administrator. Reading a group or project runner
// needs Maintainer, updating or deleting a group runner Owner; anyone may
// read an instance runner.
//
// # Authentication
//
// Personal access tokens are sent in a PRIVATE-TOKEN header, an
// "Authorization: Bearer" header or a private_token query parameter. They
// come from the seed, from Config.Tokens (the --token-file administrator
// token, --token flags; root's unless they name a user), or from
// POST /users/:id/personal_access_tokens. Scopes decide what a token may do,
// as in GitLab:
//
//	POST /user/runners                        api or create_runner
//	GET /runners/:id, .../managers            api, read_api or manage_runner
//	PUT, DELETE /runners/:id                  api or manage_runner
//	GET /runners/all, groups, projects, lists api or read_api
//	GET /user                                 api, read_api or read_user
//	POST /users/:id/personal_access_tokens    api (and an administrator)
//	GET /version                              any valid token
//	/-/standin/faults                         api
//
// A missing or unknown token gets 401 {"message":"401 Unauthorized"}, an
// expired one 401 {"error":"invalid_token",...}; a token without the scope
// gets GitLab's 403 {"error":"insufficient_scope","error_description":"The
// request requires higher privileges than provided by the access
// token.","scope":"api create_runner"}. The runner endpoints (verify,
// jobs/request, DELETE /runners, DELETE /runners/managers) authenticate
// with the runner authentication token (glrt-...) in the body instead, and
// the job endpoints (PUT /jobs/:id, PATCH /jobs/:id/trace) with the job
// token. Reads of pipelines and jobs need the Reporter role, creating a
// pipeline and canceling a job Developer (and, on a protected branch, the
// right to push or merge there), protected branches and assigning a runner
// Maintainer.
//
// Errors otherwise follow GitLab: parameter errors are 400 {"error":
// "runner_type does not have a valid value"}; a group or project that does
// not exist is 400 {"message":"400 Bad request - Missing/invalid group"} on
// create and 404 {"message":"404 Group Not Found"} elsewhere; a role too
// low is 403 {"message":"403 Forbidden - Insufficient permissions"} on
// create and "403 Forbidden - No access granted" on a runner; a runner's
// validation errors are 400 "400 Bad request - Maximum timeout needs to be
// at least 10 minutes" on create and {"message":{"maximum_timeout":[...]}}
// on update; an unknown runner is 404 {"message":"404 Runner Not Found"},
// an unknown route 404 {"error":"404 Not Found"}.
//
// Runner status is the REST API's: never_contacted (with "online": null)
// until the runner verifies its token or asks for a job, then online, or
// paused while paused, offline after 2 hours without contact, stale after
// 7 days.
//
// Lists are paginated with page and per_page (20 by default, 100 at most)
// and carry X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, X-Total,
// X-Total-Pages and a Link header (prev, next, first, last).
//
// # State
//
// Runners, managers, minted tokens, pipelines, jobs, protected branches,
// deleted runners' token digests, 403 records and id counters are kept in
// memory and, when Config.StatePath is set, saved to that JSON file after
// every change (written to a temporary file and renamed, so a crash never
// leaves half a file) and loaded at start, so a restarted stand-in still
// knows the runners a Pulumi stack created and the jobs queued or running.
// Job logs go to a traces directory beside the file, one file per job,
// appended to. Runner, job and minted personal access tokens are stored
// only as SHA-256 digests; pipeline variables and job scripts are stored as
// given (a test's values, as GitLab stores them).
//
// # Fault injection
//
// Tests make the API fail on purpose through a control endpoint that needs a
// token with the api scope:
//
//	POST   /-/standin/faults  {"status":500,"count":2}   the next 2 API requests answer 500
//	                          optional "method":"DELETE" and "path":"/api/v4/runners/" (prefix)
//	                          narrow which requests fail; count 0 or absent means 1
//	GET    /-/standin/faults  the fault in force (or {"count":0})
//	DELETE /-/standin/faults  clear it (204)
//
// A failing request is answered before authentication, with the status and
// GitLab's body for it ({"message":"500 Internal Server Error"},
// {"message":"401 Unauthorized"}, ...), and does not change any state but
// the record of a 403 on a runner endpoint.
// Requests outside /api/v4 are never failed. A new POST replaces the fault in
// force.
package gitlab
