//go:build tools

// Package tools pins the binaries this module builds, so `go mod tidy` keeps them.
// kubelet, kube-controller-manager and kube-scheduler run only in the control plane's
// node mode (controlplane/node.py); they come from the same k8s.io/kubernetes module.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
