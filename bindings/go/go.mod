// ringlog's Go binding. The module path is a placeholder under the
// reserved .invalid domain (RFC 2606): ringlog has no public repository
// yet, so nothing can be fetched by this path. Use it from another module
// with a replace directive:
//
//	require ringlog.invalid/ringlog v0.0.0
//	replace ringlog.invalid/ringlog => /path/to/ringlog/bindings/go
module ringlog.invalid/ringlog

go 1.24
