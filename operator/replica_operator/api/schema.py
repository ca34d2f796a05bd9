"""Turn a pydantic model's JSON Schema into a structural OpenAPI v3 schema the API server accepts.

What changes: ``$ref``s are inlined (a field's own description and rules win over, or add to,
the referenced model's), ``Optional[X]`` becomes plain ``X`` (absent, never null), and
``title``, ``default`` and ``additionalProperties: false`` go (a map keeps its value schema).
Defaults stay in the models so the API server never fills fields a GitOps manifest leaves out.
Any keyword not listed in ``KEY_ORDER`` is an error, so a model that needs something new fails loudly here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

VALIDATIONS = "x-kubernetes-validations"
KEY_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "maxProperties",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "items",
    "properties",
    "additionalProperties",
    "required",
    VALIDATIONS,
)
_RULE_KEY_ORDER = ("rule", "message", "fieldPath", "reason")
_DROPPED = ("title", "default")

Schema = dict[str, Any]


class SchemaError(ValueError):
    """The model cannot become a good structural CRD schema; the message names the field."""


def structural_schema(model: type[BaseModel]) -> Schema:
    """The structural schema of ``model`` in its CR form (camelCase), ready for ``openAPIV3Schema``."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    definitions = raw.pop("$defs", {})
    return _convert(raw, definitions, model.__name__)


def _convert(node: Schema, definitions: dict[str, Schema], path: str) -> Schema:
    node = _flatten(node, definitions, path)
    _check_default_is_described(node, path)
    if node.get("additionalProperties", False) in (False, None, True):
        node.pop("additionalProperties", None)  # forbid-extra models: the schema lists the fields
    elif "properties" in node:
        raise SchemaError(f"{path}: an object with both properties and a map is not structural")
    unknown = set(node) - set(KEY_ORDER) - set(_DROPPED)
    if unknown:
        raise SchemaError(f"{path}: no structural equivalent for {sorted(unknown)}")
    if "type" not in node:
        raise SchemaError(f"{path}: has no type")
    result: Schema = {}
    for key in KEY_ORDER:
        if key not in node:
            continue
        if key == "properties":
            result[key] = {
                name: _described(_convert(child, definitions, f"{path}.{name}"), f"{path}.{name}")
                for name, child in node[key].items()
            }
        elif key in ("items", "additionalProperties"):
            result[key] = _convert(node[key], definitions, f"{path}[]")
        elif key == VALIDATIONS:
            result[key] = [_ordered_rule(entry) for entry in node[key]]
        else:
            result[key] = node[key]
    return result


def _flatten(node: Schema, definitions: dict[str, Schema], path: str) -> Schema:
    """Inline ``$ref``, single ``allOf`` and ``anyOf: [X, null]`` until the node stands on its own."""
    node = dict(node)
    while True:
        if "$ref" in node:
            inner = definitions[node.pop("$ref").rsplit("/", 1)[-1]]
        elif "allOf" in node and len(node["allOf"]) == 1:
            inner = node.pop("allOf")[0]
        elif "anyOf" in node:
            options = [option for option in node.pop("anyOf") if option != {"type": "null"}]
            if len(options) != 1:
                raise SchemaError(f"{path}: unions are not structural; only Optional[X] is supported")
            inner = options[0]
        else:
            return node
        node = _overlay(dict(inner), node)


def _overlay(base: Schema, overlay: Schema) -> Schema:
    """``overlay``'s keys win, except CEL rules, which add up (the model's own, then the field's)."""
    rules = base.get(VALIDATIONS, []) + overlay.get(VALIDATIONS, [])
    merged = base | overlay
    if rules:
        merged[VALIDATIONS] = rules
    return merged


def _check_default_is_described(node: Schema, path: str) -> None:
    default = node.get("default")
    if default not in (None, [], {}) and "Default:" not in node.get("description", ""):
        raise SchemaError(f"{path}: has default {default!r}; the description must say 'Default: ...'")


def _ordered_rule(entry: dict[str, str]) -> dict[str, str]:
    """pydantic sorts keys; put ``rule`` first so the YAML reads as rule, then message."""
    return {key: entry[key] for key in _RULE_KEY_ORDER if key in entry}


def _described(node: Schema, path: str) -> Schema:
    if not node.get("description"):
        raise SchemaError(f"{path}: every field needs a description (kubectl explain shows it)")
    return node
