// Package gitlabprovider is an OFFLINE STAND-IN for the official
// pulumi-gitlab resource provider plugin (pulumi-resource-gitlab 8.11.0),
// which cannot be downloaded on the development machines or in CI. It is a
// small gRPC Pulumi provider named "gitlab" that serves only the
// gitlab:index/userRunner:UserRunner resource, by calling GitLab's REST API
// (POST /user/runners, GET/PUT/DELETE /runners/:id). It works against the
// offline stand-in of package gitlab and against a real GitLab alike.
//
// Property names, types and secrecy match the official 8.11.0 schema (see
// shared/reference/pulumi-gitlab-8.11.0-runner-schema.json) so that a program
// written against the official SDK runs unchanged on either plugin:
//
//   - inputs: runnerType (required), groupId, projectId, description,
//     tagLists, untagged, locked, paused, accessLevel, maximumTimeout,
//     maintenanceNote; outputs: the same plus token (secret);
//   - changing runnerType, groupId or projectId replaces the runner (a new
//     token); everything else updates it in place;
//   - an optional input left out keeps the value GitLab chose (the official
//     provider's "optional + computed" behaviour);
//   - provider configuration: baseUrl (GITLAB_BASE_URL), token (secret,
//     GITLAB_TOKEN), earlyAuthCheck, insecure, cacertFile, clientCert,
//     clientKey, headers, retries.
//
// It talks to GitLab through GitLab's official Go client (client-go), as
// the official provider does, configured the same way (headers, TLS, Bearer
// token, retries), and follows the official provider's gitlab_user_runner:
// Check refuses instance_type with groupId or projectId, group_type with
// projectId and project_type with groupId; Read drops a runner GitLab
// answers 404 for; Delete of a runner already gone fails (GitLab's 404); an
// import does not read groupId or projectId back (GitLab's runner details
// list groups and projects, but the official provider ignores them), and
// the token cannot be imported.
//
// Deliberate differences from the official plugin: only UserRunner exists;
// POST /user/runners is never resent once it may have reached GitLab (only
// a 429 and errors before the request is written are retried; client-go
// also resends it after a 5xx, which can leave a second runner behind);
// retries defaults to 3; Check also rejects inputs GitLab would refuse at
// apply time (maximumTimeout below 600, untagged false without tags,
// unknown property names, runnerType in other letter cases) so previews
// catch them.
package gitlabprovider
