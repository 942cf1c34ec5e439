module ringlog.invalid/examples

go 1.24

require ringlog.invalid/ringlog v0.0.0

// The binding in this repository (its module path is a placeholder: see
// bindings/go/go.mod).
replace ringlog.invalid/ringlog => ../../bindings/go
