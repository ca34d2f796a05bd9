"""Helpers shared by the test suites: the cluster handle and condition waits."""
