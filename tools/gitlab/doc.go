// Package gitlab is an offline stand-in for the parts of GitLab's REST API
// that a CI runner's lifecycle touches. There is no GitLab instance on the
// development machines or in CI, yet the fleet program creates runners
// through the API (POST /user/runners, what the UserRunner resource does) and
// the runner pods verify their tokens against it; this server lets that whole
// flow run and be tested locally. Request and response JSON follow GitLab's
// "Runners API" and "Users API / Create a runner" documentation.
//
// # Endpoints (all under /api/v4)
//
//	POST   /user/runners          create a runner linked to the current user (201 {id, token, token_expires_at})
//	GET    /runners/all           list every runner (admin; optional ?type=, ?paused=, ?status=)
//	GET    /runners/:id           runner details
//	PUT    /runners/:id           update description, paused, tag_list, run_untagged, locked,
//	                              access_level, maximum_timeout, maintenance_note
//	DELETE /runners/:id           delete the runner and its managers (204)
//	GET    /runners/:id/managers  list the runner managers (one per system_id)
//	POST   /runners/verify        runner-token auth: 200 {id, token, token_expires_at} or 403;
//	                              records system_id as a manager of the runner
//	POST   /jobs/request          runner-token auth: always 204 (no jobs); marks the manager as contacted
//	DELETE /runners/managers      runner-token auth: removes one manager (what `gitlab-runner unregister` does)
//	GET    /user                  the current user
//	GET    /version               {"version":"18.6.0-standin","revision":...}
//
// Outside the API: GET /-/health answers "GitLab OK" (no auth), and the
// fault-injection control endpoint described below.
//
// Parameters are read from the query string and from the body, which may be
// JSON or form-encoded. tag_list may be a JSON array, a comma-separated
// string, or repeated tag_list[] form fields.
//
// # Authentication
//
// Personal access tokens are configured when the server starts (Config.Tokens)
// and are sent in a PRIVATE-TOKEN header, an "Authorization: Bearer" header or
// a private_token query parameter. Every token belongs to the one
// administrator user the stand-in knows ("root", id 1). Scopes decide what a
// token may do, as in GitLab:
//
//	POST /user/runners                   create_runner or api
//	GET /runners/:id, .../managers       manage_runner, api or read_api
//	PUT, DELETE /runners/:id             manage_runner or api
//	GET /runners/all                     api or read_api (admin endpoint)
//	GET /user                            api, read_api or read_user
//	GET /version                         any valid token
//	/-/standin/faults                    api
//
// A missing or unknown token gets 401 {"message":"401 Unauthorized"}; a token
// without the scope gets 403 {"message":"403 Forbidden"}. The runner endpoints
// (verify, jobs/request, DELETE /runners/managers) authenticate with the runner
// authentication token (glrt-...) in the body instead.
//
// Errors otherwise follow GitLab: an unknown runner is 404
// {"message":"404 Runner Not Found"}, an unknown route 404
// {"error":"404 Not Found"}, a parameter error 400 {"error":"runner_type does
// not have a valid value"}, a model validation error 400
// {"message":{"maximum_timeout":["needs to be at least 10 minutes"]}}.
//
// Groups and projects are not modelled: any positive group_id or project_id
// is accepted as an existing group or project the user may create runners in;
// zero or a negative id gets 403, as GitLab answers for a namespace the user
// cannot reach.
//
// # State
//
// Runners, managers and id counters are kept in memory and, when
// Config.StatePath is set, saved to that JSON file after every change (written
// to a temporary file and renamed, so a crash never leaves half a file) and
// loaded at start, so a restarted stand-in still knows the runners a Pulumi
// stack created. Runner tokens are stored only as SHA-256 digests: the state
// file holds no secret.
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
// {"message":"401 Unauthorized"}, ...), and does not change any state.
// Requests outside /api/v4 are never failed. A new POST replaces the fault in
// force.
package gitlab
