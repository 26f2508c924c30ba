"""km_dictionary_manager: named JSON dictionaries with key paths, queries, merges and schemas."""

from __future__ import annotations

import json
from typing import Any

from engine.simulator._context import Call, ToolFailure, did_you_mean, dispatch
from engine.simulator._datapath import (
    PathProblem,
    delete_at,
    get_at,
    merge,
    parse_query,
    run_query,
    set_at,
    split_key_path,
)
from engine.simulator._jsondata import NotJSONData, copy_json
from engine.simulator._schemas import compile_schema, schema_errors
from engine.simulator.km.formats import render

TRANSFORMS = ("set", "remove", "rename")


def _record(call: Call) -> dict[str, Any]:
    name = call.args["dictionary_name"]
    record = call.state.dictionaries.get(name)
    if record is None:
        known = call.state.dictionaries
        raise ToolFailure(
            "NOT_FOUND",
            f"dictionary '{name}' does not exist",
            f"Create it first with operation 'create' (or 'import').{did_you_mean(name, known)}",
            {"dictionary_name": name},
        )
    return record


def _parts(call: Call) -> list[str]:
    path = str(call.need("key_path", "a dot-separated path such as 'user.profile.name'"))
    try:
        return split_key_path(path)
    except PathProblem as problem:
        raise ToolFailure(
            "VALIDATION_ERROR", str(problem), "Write key paths as 'a.b.c' (array items as 'a.0')."
        ) from problem


def _path_failure(problem: PathProblem) -> ToolFailure:
    return ToolFailure(
        "NOT_FOUND", str(problem), "Read the dictionary (operation 'read') to see its keys."
    )


def _value(call: Call, why: str) -> Any:
    if "value" not in call.args:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"'value' is required for operation '{call.args['operation']}'",
            f"Pass 'value' ({why}).",
            {"field": "value"},
        )
    return call.args["value"]


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"{what} must be a JSON object, not {type(value).__name__}",
            'Pass an object, e.g. {"key": "value"}.',
            {"field": "value"},
        )
    return value


def _commit(call: Call, record: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Store new data after checking it against the dictionary's schema (if it has one)."""
    schema = record.get("schema")
    if schema is not None and call.args["validate_schema"]:
        problems = schema_errors(schema, data)
        if problems:
            raise ToolFailure(
                "SCHEMA_VALIDATION_FAILED",
                f"the change breaks the schema of dictionary '{call.args['dictionary_name']}': "
                f"{problems[0]['path']}: {problems[0]['message']}",
                "Fix the value, or pass validate_schema: false to skip the check.",
                {"errors": problems},
            )
    record["data"] = data
    record["modified_at"] = call.timestamp
    call.touch()
    return _summary(call.args["dictionary_name"], record)


def _summary(name: str, record: dict[str, Any]) -> dict[str, Any]:
    data = record["data"]
    return {
        "dictionary_name": name,
        "key_count": len(data),
        "size_bytes": len(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        "nested_levels": _depth(data),
        "has_schema": record.get("schema") is not None,
        "created_at": record["created_at"],
        "modified_at": record["modified_at"],
    }


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def dictionary_create(call: Call) -> dict[str, Any]:
    name = call.args["dictionary_name"]
    if name in call.state.dictionaries:
        raise ToolFailure(
            "ALREADY_EXISTS",
            f"dictionary '{name}' already exists",
            "Use 'update' or 'merge' to change it, or 'delete' it first.",
        )
    value = call.args.get("value")
    data = {} if value is None else _object(value, "the initial data")
    schema = call.args.get("schema")
    if schema is not None:
        compile_schema(schema)  # only valid schemas are stored
    record: dict[str, Any] = {"data": {}, "schema": schema, "created_at": call.timestamp}
    summary = _commit(call, record, data)
    call.state.dictionaries[name] = record
    return {**summary, "created": True}


def dictionary_read(call: Call) -> dict[str, Any]:
    record = _record(call)
    path = call.args.get("key_path")
    value = record["data"]
    if path:
        try:
            value = get_at(value, _parts(call), path)
        except PathProblem as problem:
            raise _path_failure(problem) from problem
    fmt = call.args["format_output"]
    return {
        "dictionary_name": call.args["dictionary_name"],
        "key_path": path,
        "value": value,
        "format": fmt,
        "formatted_data": render(value, fmt, name=call.args["dictionary_name"]),
    }


def dictionary_update(call: Call) -> dict[str, Any]:
    record = _record(call)
    parts = _parts(call)
    value = _value(call, "the value to store at key_path")
    data = copy_json(record["data"])
    try:
        created = set_at(data, parts, value, call.args["key_path"])
    except PathProblem as problem:
        raise ToolFailure(
            "VALIDATION_ERROR", str(problem), "Only objects (and arrays, by index) hold values."
        ) from problem
    return {**_commit(call, record, data), "key_path": call.args["key_path"], "created": created}


def dictionary_delete(call: Call) -> dict[str, Any]:
    record = _record(call)
    name = call.args["dictionary_name"]
    path = call.args.get("key_path")
    if not path:
        del call.state.dictionaries[name]
        call.touch()
        return {"dictionary_name": name, "deleted": "dictionary"}
    data = copy_json(record["data"])
    try:
        delete_at(data, _parts(call), path)
    except PathProblem as problem:
        raise _path_failure(problem) from problem
    return {**_commit(call, record, data), "key_path": path, "deleted": "key"}


def _query(call: Call, data: Any, query: str) -> list[Any]:
    try:
        return run_query(data, parse_query(query))
    except PathProblem as problem:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"cannot run query '{query}': {problem}",
            "Use a JSONPath such as $.users[0].name, $..email, $.items[*] or $['key'].",
        ) from problem


def dictionary_query(call: Call) -> dict[str, Any]:
    record = _record(call)
    query = str(call.need("query", "a JSONPath such as $.users[*].name"))
    results = _query(call, record["data"], query)
    return {"query": query, "results": results, "total_matches": len(results)}


def dictionary_merge(call: Call) -> dict[str, Any]:
    record = _record(call)
    source = _object(_value(call, "an object to merge in"), "the data to merge")
    strategy = call.args["merge_strategy"]
    merged = merge(record["data"], source, strategy)
    summary = _commit(call, record, copy_json(merged))
    return {**summary, "merge_strategy": strategy, "keys_merged": len(source)}


def dictionary_transform(call: Call) -> dict[str, Any]:
    record = _record(call)
    spec = _object(_value(call, 'transformations, e.g. {"rename": {"a.b": "c"}}'), "value")
    unknown = [key for key in spec if key not in TRANSFORMS]
    if unknown:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"unknown transformation '{unknown[0]}'",
            f"Use set ({{path: value}}), remove ([paths]) or rename ({{path: new_key}})."
            f"{did_you_mean(unknown[0], TRANSFORMS)}",
        )
    data = copy_json(record["data"])
    try:
        applied = _apply_transforms(data, spec)
    except PathProblem as problem:
        raise ToolFailure(
            "VALIDATION_ERROR", f"transformation failed: {problem}", "Check the key paths."
        ) from problem
    return {**_commit(call, record, data), "transformations_applied": applied, "data": data}


def _apply_transforms(data: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    applied = []
    for path, value in _mapping(spec.get("set", {}), "set").items():
        set_at(data, split_key_path(path), value, path)
        applied.append(f"set {path}")
    removals = spec.get("remove", [])
    if not isinstance(removals, list) or not all(isinstance(p, str) for p in removals):
        raise PathProblem("'remove' takes a list of key paths")
    for path in removals:
        delete_at(data, split_key_path(path), path)
        applied.append(f"remove {path}")
    for path, new_key in _mapping(spec.get("rename", {}), "rename").items():
        parts = split_key_path(path)
        if not isinstance(new_key, str) or not new_key or "." in new_key:
            raise PathProblem(f"rename target for '{path}' must be a key without dots")
        value = delete_at(data, parts, path)
        set_at(data, [*parts[:-1], new_key], value, path)
        applied.append(f"rename {path} -> {new_key}")
    return applied


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PathProblem(f"'{what}' takes an object of key paths")
    return value


def dictionary_validate(call: Call) -> dict[str, Any]:
    record = _record(call)
    schema = call.args.get("schema")
    source = "argument"
    if schema is None:
        schema, source = record.get("schema"), "stored"
    if schema is None:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"dictionary '{call.args['dictionary_name']}' has no schema to validate against",
            "Pass a JSON Schema in 'schema' (or store one when creating the dictionary).",
            {"field": "schema"},
        )
    problems = schema_errors(schema, record["data"])
    return {
        "dictionary_name": call.args["dictionary_name"],
        "valid": not problems,
        "errors": problems,
        "schema_source": source,
    }


def dictionary_export(call: Call) -> dict[str, Any]:
    record = _record(call)
    data: Any = record["data"]
    query = call.args.get("query")
    if query:
        data = {"query_results": _query(call, data, query)}
    fmt = call.args["format_output"]
    text = render(data, fmt, name=call.args["dictionary_name"])
    return {
        "dictionary_name": call.args["dictionary_name"],
        "format": fmt,
        "export_data": text,
        "size_bytes": len(text.encode("utf-8", "surrogatepass")),
    }


def dictionary_import(call: Call) -> dict[str, Any]:
    name = call.args["dictionary_name"]
    value = _value(call, "JSON text or an object to import")
    if isinstance(value, str):
        value = _parse_json(value, call.args["format_output"])
    data = _object(value, "the imported data")
    existing = call.state.dictionaries.get(name)
    schema = call.args.get("schema") or (existing or {}).get("schema")
    if schema is not None:
        compile_schema(schema)
    record: dict[str, Any] = {"data": {}, "schema": schema, "created_at": call.timestamp}
    if existing is not None:
        record["created_at"] = existing["created_at"]
    summary = _commit(call, record, data)
    call.state.dictionaries[name] = record
    return {**summary, "imported": True, "replaced": existing is not None}


def _parse_json(text: str, fmt: str) -> Any:
    if fmt != "json":
        raise ToolFailure(
            "UNSUPPORTED_FORMAT",
            f"the simulator imports text as JSON only, not {fmt}",
            "Pass JSON text with format_output 'json', or pass the data as an object.",
        )
    try:
        return copy_json(json.loads(text))
    except (ValueError, RecursionError) as problem:
        reason = problem.reason if isinstance(problem, NotJSONData) else str(problem)
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"the import text is not valid JSON: {reason}",
            "Pass well-formed JSON text (an object), or pass the object itself.",
        ) from problem


OPERATIONS = {
    "create": dictionary_create,
    "read": dictionary_read,
    "update": dictionary_update,
    "delete": dictionary_delete,
    "query": dictionary_query,
    "merge": dictionary_merge,
    "transform": dictionary_transform,
    "validate": dictionary_validate,
    "export": dictionary_export,
    "import": dictionary_import,
}


def handle_dictionaries(call: Call) -> dict[str, Any]:
    """km_dictionary_manager: every operation of its enum, on the simulator's dictionaries."""
    return dispatch(call, OPERATIONS)
