"""Is a new JSON Schema of an event compatible with the committed one?

Events stay on Kafka for weeks and analytics teams keep old readers running, so a version may
only grow: new optional fields, new enum values, wider types. Breaking, reported here: a field
removed or renamed (removed + added), retyped, a new required field, an enum value or constant
changed, a constraint tightened (shorter maxLength, new pattern, ...).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
_TIGHTER_IF_SMALLER = ("maxLength", "maxItems", "maximum", "exclusiveMaximum")
_TIGHTER_IF_LARGER = ("minLength", "minItems", "minimum", "exclusiveMinimum")
_MUST_NOT_CHANGE = ("pattern", "format")


def _resolve(node: Schema, root: Schema) -> Schema:
    seen = 0
    while "$ref" in node and seen < 50:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node, seen = target, seen + 1
    return node


def _branches(node: Schema) -> list[Schema] | None:
    return node.get("anyOf") or node.get("oneOf")


def _types(node: Schema) -> set[str]:
    declared = node.get("type")
    if declared is None:
        return {"object"} if "properties" in node else set()
    return set(declared) if isinstance(declared, list) else {declared}


def _key(node: Schema, root: Schema) -> tuple[str, str]:
    node = _resolve(node, root)
    return ("|".join(sorted(_types(node))), str(node.get("title", "")))


class _Checker:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root, self.new_root = old_root, new_root
        self.problems: list[str] = []

    def report(self, path: str, what: str) -> None:
        self.problems.append(f"{path or '<event>'}: {what}")

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        old, new = _resolve(old, self.old_root), _resolve(new, self.new_root)
        old_branches, new_branches = _branches(old), _branches(new)
        if old_branches is not None or new_branches is not None:
            self._compare_union(old_branches or [old], new_branches or [new], path)
            return
        self._compare_simple(old, new, path)

    def _compare_union(self, old: list[Schema], new: list[Schema], path: str) -> None:
        new_by_key = {_key(branch, self.new_root): branch for branch in new}
        new_by_type = {_key(branch, self.new_root)[0]: branch for branch in new}
        for branch in old:
            key = _key(branch, self.old_root)
            match = new_by_key.get(key) or new_by_type.get(key[0])
            if match is None and "number" in new_by_type and key[0] == "integer":
                match = new_by_type["number"]
            if match is None:
                self.report(path, f"retyped: {key[0] or 'any'} {key[1]} no longer accepted".strip())
            else:
                label = f"{path}[{key[1]}]" if key[1] and len(old) > 1 else path
                self.compare(branch, match, label)

    def _compare_simple(self, old: Schema, new: Schema, path: str) -> None:
        old_types, new_types = _types(old), _types(new)
        if "integer" in old_types and "number" in new_types:
            new_types = new_types | {"integer"}
        if new_types and not old_types <= new_types:
            self.report(path, f"retyped from {sorted(old_types)} to {sorted(new_types)}")
            return
        if "const" in old and old.get("const") != new.get("const", old["const"]):
            self.report(path, f"constant changed from {old['const']!r}")
        if "enum" in new and not set(old.get("enum", [])) <= set(new["enum"]):
            removed = sorted(set(old.get("enum", [])) - set(new["enum"]), key=str)
            self.report(path, f"enum values removed: {removed}")
        self._compare_constraints(old, new, path)
        if "object" in old_types:
            self._compare_object(old, new, path)
        if "items" in old and "items" in new:
            self.compare(old["items"], new["items"], f"{path}[]")

    def _compare_constraints(self, old: Schema, new: Schema, path: str) -> None:
        for name in _TIGHTER_IF_SMALLER:
            if name in new and (name not in old or new[name] < old[name]):
                self.report(path, f"{name} tightened to {new[name]}")
        for name in _TIGHTER_IF_LARGER:
            if name in new and (name not in old or new[name] > old[name]):
                self.report(path, f"{name} tightened to {new[name]}")
        for name in _MUST_NOT_CHANGE:
            if name in new and new[name] != old.get(name):
                self.report(path, f"{name} changed to {new[name]!r}")

    def _compare_object(self, old: Schema, new: Schema, path: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        prefix = f"{path}." if path else ""
        for name in old_props:
            if name not in new_props:
                self.report(f"{prefix}{name}", "removed (or renamed)")
            else:
                self.compare(old_props[name], new_props[name], f"{prefix}{name}")
        for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
            self.report(f"{prefix}{name}", "new required field")


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every incompatible difference from `old` to `new`; empty when `new` only adds."""
    checker = _Checker(old, new)
    checker.compare(old, new, "")
    return checker.problems
