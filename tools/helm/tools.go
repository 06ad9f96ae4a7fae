//go:build tools

// Package tools records the upstream program this module builds, so `go mod tidy` keeps its
// dependencies in go.mod/go.sum. Nothing here is compiled into Navigator.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
