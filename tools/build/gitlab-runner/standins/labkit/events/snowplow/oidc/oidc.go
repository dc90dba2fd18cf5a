// Package oidc is the stand-in for the snowplow emitter's OIDC token source.
package oidc

import "gitlab.com/gitlab-org/labkit/v2/internal/standin"

// Option configures a Source.
type Option func()

// Source would fetch OIDC tokens for the collector.
type Source struct{}

// WithSkipIfUnsupportedCloud fails: see the package labkit doc.
func WithSkipIfUnsupportedCloud(bool) Option {
	standin.Module.Panic("oidc.WithSkipIfUnsupportedCloud")
	return nil
}

// NewSource fails: see the package labkit doc.
func NewSource(...Option) *Source {
	standin.Module.Panic("oidc.NewSource")
	return nil
}
