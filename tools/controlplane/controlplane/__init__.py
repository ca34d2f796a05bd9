"""Builds and runs a real local etcd + kube-apiserver for tests and the demo."""
