"""Render a kustomization: the subset of kustomize that ``deploy/k8s`` uses, in pure Python.

Neither ``kustomize`` nor ``kubectl`` can be installed from PyPI or Debian, so the tests
render the overlays themselves: ``resources`` (files and directories), ``namespace``,
``labels`` (``pairs`` without selectors), ``images`` (``newName``/``newTag``/``digest``) and
``patches`` (strategic-merge files, matched by kind and name). Anything else in a
kustomization is refused, so the files cannot drift beyond what this renders.
``tests/deploy/test_k8s.py`` compares the result with ``kubectl kustomize`` where it exists.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
#: Kinds without a namespace (the subset deploy/k8s can contain).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer"}
#: Where pod specs live, by kind.
POD_SPEC_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


class KustomizeError(ValueError):
    """A kustomization uses something this renderer does not support, or is wrong."""


def load_documents(path: Path) -> list[Manifest]:
    """The non-empty YAML documents of ``path``."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(directory: Path) -> list[Manifest]:
    """The manifests the kustomization in ``directory`` produces."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise KustomizeError(f"{directory}: unsupported fields {sorted(unsupported)}")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        manifests += render(target) if target.is_dir() else load_documents(target)
    for patch in kustomization.get("patches", []):
        apply_patch_file(manifests, directory / patch["path"])
    for label in kustomization.get("labels", []):
        add_labels(manifests, label)
    for image in kustomization.get("images", []):
        set_image(manifests, image)
    if "namespace" in kustomization:
        set_namespace(manifests, kustomization["namespace"])
    return manifests


def key(manifest: Manifest) -> tuple[str, str]:
    """A manifest's identity within one kustomization: kind and name."""
    return manifest["kind"], manifest["metadata"]["name"]


def apply_patch_file(manifests: list[Manifest], path: Path) -> None:
    """Merge every document of ``path`` into the manifest of the same kind and name."""
    by_key = {key(m): m for m in manifests}
    for patch in load_documents(path):
        target = by_key.get(key(patch))
        if target is None:
            raise KustomizeError(f"{path}: no {key(patch)} to patch")
        merged = merge(target, patch)
        target.clear()
        target.update(merged)


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge as kustomize does it for the fields deploy/k8s patches.

    Mappings merge key by key; lists of mappings that all have a ``name`` (containers, env,
    volumes, ports) merge item by item on it; any other list or value is replaced.
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for name, value in patch.items():
            out[name] = merge(base[name], value) if name in base else copy.deepcopy(value)
        return out
    if _named_list(base) and _named_list(patch):
        out_list = [copy.deepcopy(item) for item in base]
        index = {item["name"]: i for i, item in enumerate(out_list)}
        for item in patch:
            if item["name"] in index:
                out_list[index[item["name"]]] = merge(out_list[index[item["name"]]], item)
            else:
                out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(patch)


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(i, dict) and "name" in i for i in value)
    )


def add_labels(manifests: list[Manifest], label: dict[str, Any]) -> None:
    """``labels`` with ``includeSelectors: false``: metadata labels only."""
    if label.get("includeSelectors") or label.get("includeTemplates"):
        raise KustomizeError("labels: only includeSelectors/includeTemplates false is supported")
    for manifest in manifests:
        manifest["metadata"].setdefault("labels", {}).update(label["pairs"])


def set_image(manifests: list[Manifest], image: dict[str, str]) -> None:
    """Rewrite every container image named ``image["name"]`` (with or without a tag)."""
    for manifest in manifests:
        spec = pod_spec(manifest)
        if spec is None:
            continue
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            current = container["image"]
            name = current.split("@", 1)[0].rsplit(":", 1)[0] if "/" in current else current
            if name.split(":", 1)[0] != image["name"]:
                continue
            container["image"] = _image_ref(image, current)


def _image_ref(image: dict[str, str], current: str) -> str:
    name = image.get("newName", image["name"])
    if "digest" in image:
        return f"{name}@{image['digest']}"
    tag = image.get("newTag") or (current.split(":", 1)[1] if ":" in current else None)
    return f"{name}:{tag}" if tag else name


def pod_spec(manifest: Manifest) -> dict[str, Any] | None:
    """The pod spec inside a workload manifest, or None for other kinds."""
    path = POD_SPEC_PATHS.get(manifest["kind"])
    if path is None:
        return None
    node: Any = manifest
    for part in path:
        node = node[part]
    return dict(node) if not isinstance(node, dict) else node


def set_namespace(manifests: list[Manifest], namespace: str) -> None:
    """Put every namespaced manifest in ``namespace``."""
    for manifest in manifests:
        if manifest["kind"] not in CLUSTER_SCOPED:
            manifest["metadata"]["namespace"] = namespace
