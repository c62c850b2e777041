"""The JSON Schema of menus.yaml: valid, accepts the shipped files, rejects mistakes, follows the data."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import MENUS, ROOT, SHIPPED_MENUS
from jsonschema import Draft202012Validator

from ivr.menufile import schema
from ivr.menufile.json_schema import menu_json_schema, schema_text

SECTIONS = {"line": schema.LINE, "call": schema.CALL, "phrases": schema.PHRASES, "hours": schema.HOURS}


def string_keys(value):
    """`value` with every mapping key a string, as an editor sees YAML (safe_load makes `1:` an int)."""
    if isinstance(value, dict):
        return {str(key): string_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [string_keys(item) for item in value]
    return value


def load(path):
    return string_keys(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def validator():
    return Draft202012Validator(menu_json_schema())


@pytest.fixture
def doc():
    return copy.deepcopy(load(MENUS))


def errors(validator, document):
    """Each error as (instance path, keyword, message)."""
    return [(tuple(e.absolute_path), e.validator, e.message) for e in validator.iter_errors(document)]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(menu_json_schema())
    full = menu_json_schema()
    assert full["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert full["$id"] == "menus.schema.json"
    assert full["title"] and full["description"]


@pytest.mark.parametrize("path", [SHIPPED_MENUS, MENUS], ids=["shipped", "fixture"])
def test_the_menu_files_are_valid(validator, path):
    assert errors(validator, load(path)) == []


def test_text_wrapped_over_lines_and_unquoted_phone_numbers_are_valid(validator, doc):
    doc["nodes"]["casting"]["say"] = "First line of a summary.\nSecond line, as staff wrap it.\n"
    doc["phones"]["scheduling"] = 5026356397
    assert errors(validator, doc) == []


def break_unknown_node_key(doc):
    doc["nodes"]["casting"]["sumary"] = "typo"
    return ("nodes", "casting"), "additionalProperties", "sumary"


def break_missing_title(doc):
    del doc["nodes"]["casting"]["title"]
    return ("nodes", "casting"), "required", "'title'"


def break_summary_without_say(doc):
    del doc["nodes"]["oral_baclofen"]["say"]
    return ("nodes", "oral_baclofen"), "required", "'say'"


def break_option_key_0(doc):
    doc["nodes"]["main"]["options"]["0"] = "casting"
    return ("nodes", "main", "options"), "additionalProperties", "'0'"


def break_option_key_10(doc):
    doc["nodes"]["main"]["options"]["10"] = "casting"
    return ("nodes", "main", "options"), "additionalProperties", "'10'"


def break_capital_in_node_id(doc):
    doc["nodes"]["Casting2"] = doc["nodes"]["casting"]
    return ("nodes",), "additionalProperties", "'Casting2'"


def break_retries_as_text(doc):
    doc["call"]["no_input_retries"] = "two"
    return ("call", "no_input_retries"), "type", "'integer'"


def break_unknown_type(doc):
    doc["nodes"]["casting"]["type"] = "summry"
    return ("nodes", "casting", "type"), "enum", "'summry'"


def break_dial_on_a_summary(doc):
    doc["nodes"]["casting"]["dial"] = "scheduling"
    # A forbidden key has the schema `false`. Editors underline the key ("Property dial is not
    # allowed."); the jsonschema library reports it at the node, without the key, and no keyword.
    return ("nodes", "casting"), None, "does not allow 'scheduling'"


def break_transfer_without_dial(doc):
    del doc["nodes"]["scheduling"]["dial"]
    return ("nodes", "scheduling"), "required", "'dial'"


def break_retries_out_of_range(doc):
    doc["call"]["no_input_retries"] = 6
    return ("call", "no_input_retries"), "maximum", "6"


def break_option_without_key_placeholder(doc):
    doc["phrases"]["option"] = "To hear about {title}, press the key."
    return ("phrases", "option"), "pattern", "key"


def break_voice_with_a_space(doc):
    doc["line"]["voice"] = "Polly Joanna"
    return ("line", "voice"), "pattern", "Polly Joanna"


def break_empty_keyword(doc):
    doc["nodes"]["casting"]["keywords"].append("")
    return ("nodes", "casting", "keywords", 2), "minLength", "''"


def break_unknown_section(doc):
    doc["settings"] = {}
    return (), "additionalProperties", "'settings'"


BREAKS = [break_unknown_node_key, break_missing_title, break_summary_without_say, break_option_key_0,
          break_option_key_10, break_capital_in_node_id, break_retries_as_text, break_unknown_type,
          break_dial_on_a_summary, break_transfer_without_dial, break_retries_out_of_range,
          break_option_without_key_placeholder, break_voice_with_a_space, break_empty_keyword,
          break_unknown_section]


@pytest.mark.parametrize("breaking", BREAKS, ids=[b.__name__.removeprefix("break_") for b in BREAKS])
def test_a_mistake_is_reported_exactly_where_it_is(validator, doc, breaking):
    path, keyword, in_message = breaking(doc)
    found = errors(validator, doc)
    assert found and {p for p, _, _ in found} == {path}, found
    assert any(k == keyword and in_message in m for _, k, m in found), found


def test_every_field_of_ivr_schema_is_in_the_json_schema():
    full = menu_json_schema()
    props = full["properties"]
    assert list(props) == list(schema.TOP)
    assert full["required"] == [s for s in schema.TOP if s not in schema.OPTIONAL_SECTIONS]
    (node,) = props["nodes"]["patternProperties"].values()
    tables = {**{name: (fields, props[name]) for name, fields in SECTIONS.items()},
              "nodes": (schema.NODE, node)}
    assert set(tables) | {"phones", "pronunciations", "languages"} == set(schema.TOP)
    for name, (fields, section) in tables.items():
        assert list(section["properties"]) == list(fields), name
        assert section["additionalProperties"] is False
        assert section.get("required", []) == [k for k, f in fields.items() if f.required], name
        for key, spec in fields.items():
            entry = section["properties"][key]
            assert entry["description"] == spec.help, f"{name}.{key}"
            if spec.default is not None:
                expected = list(spec.default) if isinstance(spec.default, tuple) else spec.default
                assert entry["default"] == expected, f"{name}.{key}"
            else:
                assert "default" not in entry, f"{name}.{key}"
            if spec.kind == "choice":
                assert entry["enum"] == list(spec.choices)
            if spec.kind == "int":
                assert (entry["minimum"], entry["maximum"]) == (spec.low, spec.high)
    assert props["phones"]["description"] == schema.PHONES_HELP
    assert props["nodes"]["description"] == schema.TOP["nodes"]
    rules = {branch["if"]["properties"]["type"]["const"]: branch["then"] for branch in node["allOf"]}
    assert rules.keys() == schema.NODE_TYPE_KEYS.keys()
    for kind, then in rules.items():
        assert then["required"] == list(schema.NODE_TYPE_KEYS[kind]["required"])
        assert then["properties"] == {key: False for key in schema.NODE_TYPE_KEYS[kind]["forbidden"]}


def test_the_committed_menus_schema_json_is_up_to_date():
    committed = ROOT / "menus.schema.json"
    message = ("menus.schema.json is missing or out of date with ivr/schema.py: "
               "run `ivr schema > menus.schema.json`")
    assert committed.exists(), message
    assert committed.read_bytes() == schema_text().encode("utf-8"), message
