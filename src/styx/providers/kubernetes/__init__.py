"""Kubernetes as a provider: kubeconfig contexts are regions, pods are instances.

Nothing here imports the ``kubernetes`` SDK at package import; the modules that need it do.
"""
