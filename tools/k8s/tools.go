//go:build tools

// Package tools records the upstream programs this module builds, so `go mod tidy` keeps their
// dependencies in go.mod/go.sum. Nothing here is compiled into Navigator.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
