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
// Deliberate differences from the official plugin: only UserRunner exists;
// retries also cover 5xx answers and transport errors, not only 429; Check
// rejects inputs GitLab would refuse at apply time (maximumTimeout below 600,
// untagged false without tags, unknown property names) so previews catch
// them; CheckConfig insists that baseUrl ends with "/" as the schema says.
package gitlabprovider
