// Package value is the stand-in for moa's values: a job input's content
// refuses to be decoded, so a job payload with inputs is refused.
package value

import (
	"errors"
	"iter"

	"gitlab.com/gitlab-org/moa/internal/standin"
)

// Kind is a value's type.
type Kind int

// The kinds job inputs may have.
const (
	NullKind Kind = iota
	StringKind
	NumberKind
	BoolKind
	ArrayKind
	ObjectKind
)

// Errors the runner's input lookups return.
var (
	ErrAttributeNotFound = errors.New("attribute not found")
	ErrInvalidKey        = errors.New("invalid key")
)

// Mapper is an object value's contents, as the runner's spec.Inputs
// provides them.
type Mapper interface {
	All() iter.Seq2[Value, Value]
	Attr(string) (Value, error)
	Get(Value) (Value, error)
	Keys() iter.Seq[Value]
	Len() int
	Values() iter.Seq[Value]
	WithMarks(uint16) Mapper
}

// Value is a moa value.
type Value struct {
	object Mapper
}

// Object succeeds: spec.NewJobInputs wraps the job's inputs in an object
// value for every job payload that has an `inputs` key, even an empty one.
// The value refuses every use.
func Object(m Mapper) Value {
	return Value{object: m}
}

// Null refuses.
func Null() Value {
	standin.Module.Panic("value.Null")
	return Value{}
}

// String refuses.
func String(string) Value {
	standin.Module.Panic("value.String")
	return Value{}
}

// UnmarshalJSON refuses: a job input's content cannot be decoded.
func (*Value) UnmarshalJSON([]byte) error {
	return standin.Module.Err("value.Value.UnmarshalJSON")
}

// Kind refuses.
func (Value) Kind() Kind {
	standin.Module.Panic("value.Value.Kind")
	return NullKind
}

// String refuses.
func (Value) String() string {
	standin.Module.Panic("value.Value.String")
	return ""
}

// WithMarks refuses.
func (Value) WithMarks(uint16) Value {
	standin.Module.Panic("value.Value.WithMarks")
	return Value{}
}

// HasMarks refuses.
func (Value) HasMarks(uint16) bool {
	standin.Module.Panic("value.Value.HasMarks")
	return false
}
