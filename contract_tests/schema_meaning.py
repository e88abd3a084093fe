"""What a JSON Schema means, parameter by parameter, so two schemas written by different hands can be compared.

`meaning(schema, resolver)` flattens a schema into one entry per parameter path (`inputs.video`,
`providerSettings.sync.segments[].audioEndTime`; `""` for the top level), each a dict of facets in one canonical
form: `type`, `values` (from `const`, `enum`, or a `oneOf`/`anyOf` of consts), `lower` and `upper` bounds,
`step`, `default`, `required`, `required with` (`dependentRequired`), `format`, `pattern`, `unknown keys`, string,
array and object sizes. Ways of writing the same constraint come out equal:

- `const: x` and `enum: [x]` and `oneOf: [{const: x}]`; a `type` that every allowed value has anyway;
- `$ref` and the schema inline; `allOf` branches merged into one (tightest bounds, all patterns, every
  required name, unknown keys refused if any branch refuses them);
- `type` lists in any order, `["integer", "number"]` as `number`;
- for integers, `exclusiveMinimum: 0` as `minimum: 1` (the same integers pass), and a step dividing 1 as none;
- numbers by value, exactly (`0.01` and `0.010` are one step; schemas are read with `parse_float=Decimal`);
- a `pattern`'s character classes in any order (`[0-9a-fA-F]` is `[A-Fa-f0-9]`);
- draft 4 (`exclusiveMinimum: true`), draft 7 (`dependencies`, `items: [...]`) and 2019-09/2020-12 spellings.

Annotations (`title`, `description`, `$id`, `examples`, …) are not meaning, and neither are `x-` keywords: each
team's own extensions, for rules standard JSON Schema cannot state (the mock's `x-greaterThan` and
`x-disjointWindows`), which another team's schema can only give in prose. A keyword not known here is kept by
its value, so it is reported rather than silently agreed with.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from referencing import Resource
from referencing.jsonschema import DRAFT202012

Resolver = Any  # referencing's resolver; its class is not part of referencing's public API
Facets = dict[str, Any]
Meaning = dict[str, Facets]  # parameter path → its facets

ANNOTATIONS = frozenset(
    {
        "$anchor",
        "$comment",
        "$defs",
        "$dynamicAnchor",
        "$id",
        "$recursiveAnchor",
        "$schema",
        "$vocabulary",
        "contentEncoding",
        "contentMediaType",
        "definitions",
        "deprecated",
        "description",
        "examples",
        "readOnly",
        "title",
        "writeOnly",
    }
)
REFERENCES = ("$ref", "$recursiveRef", "$dynamicRef")
SIZES = {  # keyword → (facet, which of two is tighter)
    "minLength": ("minLength", max),
    "maxLength": ("maxLength", min),
    "minItems": ("minItems", max),
    "maxItems": ("maxItems", min),
    "minProperties": ("minProperties", max),
    "maxProperties": ("maxProperties", min),
}
UNKNOWN_KEYS_ORDER = ("allowed", "checked against .*", "refused")  # looser to stricter


@dataclass(frozen=True)
class Bound:
    value: Decimal
    exclusive: bool


@dataclass(frozen=True)
class Pattern:
    """A `pattern`, equal to another with the same canonical form; shown as it was written."""

    canonical: str
    written: str = field(compare=False)


def number(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def canonical(value: Any) -> str:
    """A JSON value as one text, whatever its key order or number spelling (1, 1.0 and 1.00 are one value)."""
    return json.dumps(_plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        exact = number(value)
        return int(exact) if exact == exact.to_integral_value() else float(exact)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return [_plain(item) for item in value]


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object", type(None): "null"}
    return names[type(value)]


def canonical_pattern(pattern: str) -> str:
    """The pattern with each character class's members sorted (and `-`, `^`, `]` in it escaped), so classes
    written in another order read the same."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
        elif char == "[":
            members, index = _class_members(pattern, index + 1)
            out.append(members)
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _class_members(pattern: str, index: int) -> tuple[str, int]:
    """`[...]` from just after its `[`: the class with its members sorted, and where the pattern goes on."""
    negated = pattern.startswith("^", index)
    index += negated
    members: list[str] = []
    while index < len(pattern) and (pattern[index] != "]" or not members):
        member = pattern[index : index + 2] if pattern[index] == "\\" else pattern[index]
        index += len(member)
        if pattern.startswith("-", index) and index + 1 < len(pattern) and pattern[index + 1] != "]":
            end = pattern[index + 1 : index + 3] if pattern[index + 1] == "\\" else pattern[index + 1]
            member += "-" + end
            index += 1 + len(end)
        members.append({"-": "\\-", "^": "\\^", "]": "\\]"}.get(member, member))
    return "[" + "^" * negated + "".join(sorted(set(members))) + "]", index + 1


def types_of(declared: str | list[str]) -> frozenset[str]:
    names = frozenset([declared] if isinstance(declared, str) else declared)
    return names - {"integer"} if "number" in names else names


def common_types(first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
    both = first & second
    if ("number" in first and "integer" in second) or ("integer" in first and "number" in second):
        both |= {"integer"}
    return both


def value_has_type(text: str, types: frozenset[str]) -> bool:
    kind = json_type(json.loads(text))
    return kind in types or (kind == "integer" and "number" in types)


def tighter_lower(first: Bound, second: Bound) -> Bound:
    if first.value != second.value:
        return first if first.value > second.value else second
    return first if first.exclusive else second


def tighter_upper(first: Bound, second: Bound) -> Bound:
    if first.value != second.value:
        return first if first.value < second.value else second
    return first if first.exclusive else second


def common_step(first: Decimal, second: Decimal) -> Decimal:
    """The least common multiple of two exact steps: a value in both steps is a multiple of it."""
    (first_num, first_den), (second_num, second_den) = first.as_integer_ratio(), second.as_integer_ratio()
    return Decimal(math.lcm(first_num, second_num)) / Decimal(math.gcd(first_den, second_den))


def stricter_unknown_keys(first: str, second: str) -> str:
    return max(first, second, key=UNKNOWN_KEYS_ORDER.index)


MERGES: dict[str, Callable[[Any, Any], Any]] = {
    "type": common_types,
    "values": frozenset.intersection,
    "lower": tighter_lower,
    "upper": tighter_upper,
    "step": common_step,
    "required": lambda first, second: first or second,
    "uniqueItems": lambda first, second: first or second,
    "unknown keys": stricter_unknown_keys,
    **{facet: tighter for facet, tighter in SIZES.values()},
}


def merge(facets: Facets, name: str, value: Any) -> None:
    """Adds one facet; a facet already there is combined as `allOf` would (sets of texts are unions)."""
    if name not in facets:
        facets[name] = value
    else:
        facets[name] = MERGES.get(name, frozenset.union)(facets[name], value)


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def meaning(schema: Any, resolver: Resolver) -> Meaning:
    """Every parameter path of `schema` with its facets, in canonical form (see the module docstring)."""
    gathered: Meaning = {}
    _gather(schema, resolver, "", gathered, ())
    return {path: _finished(path, facets, gathered) for path, facets in gathered.items()}


def _gather(node: Any, resolver: Resolver, path: str, into: Meaning, refs: tuple[int, ...]) -> None:
    facets = into.setdefault(path, {})
    if node is True or node == {}:
        return
    if node is False:
        merge(facets, "never valid", frozenset({"true"}))
        return
    if "$id" in node:
        resolver = resolver.in_subresource(Resource.from_contents(node, default_specification=DRAFT202012))
    _gather_bounds(node, facets)
    for keyword, value in node.items():
        if keyword in ANNOTATIONS or keyword.startswith("x-") or keyword in BOUND_KEYWORDS:
            continue
        if keyword in REFERENCES:
            resolved = resolver.lookup(value)
            if id(resolved.contents) in refs:  # a recursive schema: its meaning there is the reference itself
                merge(facets, "recursive reference", frozenset({value}))
                continue
            _gather(resolved.contents, resolved.resolver, path, into, (*refs, id(resolved.contents)))
        elif keyword == "allOf":
            for branch in value:
                _gather(branch, resolver, path, into, refs)
        elif keyword in ("oneOf", "anyOf"):
            _gather_alternatives(keyword, value, resolver, facets, refs)
        elif keyword == "properties":
            for name, subschema in value.items():
                _gather(subschema, resolver, child(path, name), into, refs)
        elif keyword == "required":
            for name in value:
                merge(into.setdefault(child(path, name), {}), "required", True)
        elif keyword in ("dependentRequired", "dependencies") and all(isinstance(v, list) for v in value.values()):
            for name, others in value.items():
                merge(into.setdefault(child(path, name), {}), "required with", frozenset(others))
        elif keyword in ("additionalProperties", "unevaluatedProperties"):
            _gather_unknown_keys(value, resolver, path, into, refs)
        elif (keyword == "items" and isinstance(value, list)) or keyword == "prefixItems":
            for position, subschema in enumerate(value):
                _gather(subschema, resolver, f"{path}[{position}]", into, refs)
        elif keyword == "items":
            _gather(value, resolver, f"{path}[]", into, refs)
        else:
            _gather_keyword(keyword, value, facets)


def _gather_keyword(keyword: str, value: Any, facets: Facets) -> None:
    if keyword == "type":
        merge(facets, "type", types_of(value))
    elif keyword == "const":
        merge(facets, "values", frozenset({canonical(value)}))
    elif keyword == "enum":
        merge(facets, "values", frozenset(canonical(item) for item in value))
    elif keyword == "multipleOf":
        merge(facets, "step", number(value))
    elif keyword in SIZES:
        merge(facets, SIZES[keyword][0], value)
    elif keyword == "uniqueItems":
        merge(facets, "uniqueItems", bool(value))
    elif keyword == "format":
        merge(facets, "format", frozenset({value.lower()}))
    elif keyword == "pattern":
        merge(facets, "pattern", frozenset({Pattern(canonical_pattern(value), value)}))
    elif keyword == "default":
        merge(facets, "default", frozenset({canonical(value)}))
    else:  # not known here: compared by its value
        merge(facets, f"keyword {keyword}", frozenset({canonical(value)}))


BOUND_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def _gather_bounds(node: dict[str, Any], facets: Facets) -> None:
    """`minimum`/`exclusiveMinimum` (a number, or draft 4's flag on `minimum`) as one lower bound; the same above."""
    for facet, inclusive, exclusive in (
        ("lower", "minimum", "exclusiveMinimum"),
        ("upper", "maximum", "exclusiveMaximum"),
    ):
        flag = node.get(exclusive)
        if inclusive in node:
            merge(facets, facet, Bound(number(node[inclusive]), flag is True))
        if flag is not None and not isinstance(flag, bool):
            merge(facets, facet, Bound(number(flag), True))


def _gather_alternatives(
    keyword: str, branches: list[Any], resolver: Resolver, facets: Facets, refs: tuple[int, ...]
) -> None:
    """Alternatives that are each only values (`{"const": "MP4"}`) are those values; each only a type, those types;
    anything else is compared as the whole list of alternatives' meanings."""
    meanings = []
    for branch in branches:
        branch_meaning: Meaning = {}
        _gather(branch, resolver, "", branch_meaning, refs)
        meanings.append({path: _finished(path, f, branch_meaning) for path, f in branch_meaning.items()})
    tops = [branch_meaning[""] for branch_meaning in meanings if branch_meaning.keys() == {""}]
    if len(tops) == len(meanings) and all(top.keys() == {"values"} for top in tops):
        merge(facets, "values", frozenset().union(*(top["values"] for top in tops)))
        return
    kinds = [top["type"] for top in tops if top.keys() == {"type"}]
    every_kind = frozenset().union(*kinds)
    # oneOf passes a value of exactly one alternative: overlapping types (integer in number) are not a union.
    overlapping = sum(len(kind) for kind in kinds) != len(every_kind) or {"integer", "number"} <= every_kind
    if len(kinds) == len(meanings) and not (keyword == "oneOf" and overlapping):
        merge(facets, "type", types_of(list(every_kind)))
        return
    merge(facets, keyword, frozenset({" | ".join(sorted(canonical(_shown_meaning(m)) for m in meanings))}))


def _gather_unknown_keys(value: Any, resolver: Resolver, path: str, into: Meaning, refs: tuple[int, ...]) -> None:
    facets = into.setdefault(path, {})
    if value is False:
        merge(facets, "unknown keys", "refused")
    elif value is True or value == {}:
        merge(facets, "unknown keys", "allowed")
    else:
        merge(facets, "unknown keys", "checked against .*")
        _gather(value, resolver, child(path, "*"), into, refs)


def _finished(path: str, facets: Facets, whole: Meaning) -> Facets:
    """The facets with what they imply folded in: types every allowed value has, integer bounds made inclusive,
    limits that limit nothing dropped, objects' unknown keys allowed unless refused."""
    done = dict(facets)
    types = done.get("type")
    if "values" in done:
        if types is not None:
            done["values"] = frozenset(text for text in done["values"] if value_has_type(text, types))
            del done["type"]
        return done
    if types == {"integer"}:
        _integer_bounds(done)
    for facet in ("minLength", "minItems", "minProperties"):
        if done.get(facet) == 0:
            del done[facet]
    if done.get("uniqueItems") is False:
        del done["uniqueItems"]
    has_children = any(other.startswith(path + "." if path else "") and other != path for other in whole)
    if "unknown keys" not in done and ((types is not None and "object" in types) or has_children):
        done["unknown keys"] = "allowed"
    return done


def _integer_bounds(facets: Facets) -> None:
    if "lower" in facets:
        lower: Bound = facets["lower"]
        value = math.floor(lower.value) + 1 if lower.exclusive else math.ceil(lower.value)
        facets["lower"] = Bound(Decimal(value), False)
    if "upper" in facets:
        upper: Bound = facets["upper"]
        value = math.ceil(upper.value) - 1 if upper.exclusive else math.floor(upper.value)
        facets["upper"] = Bound(Decimal(value), False)
    if "step" in facets and Decimal(1) % facets["step"] == 0:
        del facets["step"]


def _shown_meaning(branch: Meaning) -> dict[str, dict[str, str]]:
    return {path: {name: shown(name, value) for name, value in sorted(f.items())} for path, f in branch.items()}


# Showing a facet

LABELS = {
    "values": "allowed values",
    "lower": "minimum",
    "upper": "maximum",
    "step": "step (multipleOf)",
    "required with": "required together with",
}
ABSENT = "absent"


def label(facet: str) -> str:
    return LABELS.get(facet, facet)


def shown(facet: str, value: Any) -> str:
    """One facet's value as the table shows it; `absent` when the schema does not say."""
    if value is None:
        return "no" if facet == "required" else ABSENT
    if isinstance(value, Bound):
        sign = (">" if value.exclusive else "≥") if facet == "lower" else ("<" if value.exclusive else "≤")
        return f"{sign} {decimal_text(value.value)}"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, frozenset):
        texts = sorted(item.written if isinstance(item, Pattern) else item for item in value)
        return (" | " if facet == "type" else ", ").join(texts)
    return str(value)
