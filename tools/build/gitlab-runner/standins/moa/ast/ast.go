// Package ast is the stand-in for moa's syntax tree: the interfaces the
// runner walks, and a template node that refuses to be walked.
package ast

import "gitlab.com/gitlab-org/moa/internal/standin"

// Expr is a node of a parsed template.
type Expr interface {
	Walk(Visitor) (Expr, error)
}

// Visitor visits the nodes of a tree.
type Visitor interface {
	Enter(Expr) (Visitor, error)
	Exit(Expr) (Expr, error)
}

// Template is an interpolated template node.
type Template struct{}

// Walk refuses.
func (*Template) Walk(Visitor) (Expr, error) {
	return nil, standin.Module.Err("ast.Template.Walk")
}
