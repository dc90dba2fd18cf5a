// Package sdkcheck proves the package's SDKs for other languages: its tests
// generate the TypeScript and Python SDKs with the code generators the
// Pulumi language plugins use (pkg/v3/codegen/nodejs and python; the
// plugins themselves are not served here), then compile them: the
// TypeScript SDK, and a program using it, with tsc after npm installs the
// SDK's own dependencies; the Python SDK with py_compile (its pulumi
// dependency cannot be installed here). They need npm and python3 and the
// npm registry, so they carry the build tag e2e: `make e2e` runs them,
// `go test ./...` does not.
package sdkcheck
