"""Config validation on construction: Literal fields (plain and optional) in every Config
subclass, and the shipped adapter that must be there unless "none" is asked for."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Literal

import pytest

import assistant.dialogue.assistant_config as assistant_config
from assistant.dialogue.service import AssistantConfig
from retrieval.cf.rules import RulesConfig
from retrieval.config import Config, section_of
from retrieval.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class _PaletteConfig(Config):
    colour: Literal["red", "blue"] = "red"
    accent: Literal["gold", "silver"] | None = None
    note: str | None = None


def test_a_misspelt_literal_names_the_field_and_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match=r"^assistant\.writer: 'modle' is not one of 'model', 'template'$"):
        AssistantConfig(writer="modle")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^assistant\.quantization: 'int4'"):
        AssistantConfig(quantization="int4")  # type: ignore[arg-type]


def test_every_subclass_checks_its_literals_under_its_section_name() -> None:
    with pytest.raises(ConfigError, match=r"^rules\.combine: 'mean' is not one of 'sum', 'max'$"):
        RulesConfig(combine="mean")  # type: ignore[arg-type]
    assert RulesConfig(combine="sum").combine == "sum"
    with pytest.raises(ConfigError, match=r"^palette\.colour: 'green'"):
        _PaletteConfig(colour="green")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^assistant\.writer"):
        AssistantConfig().replace(writer="poet")  # a copy is checked as well


def test_an_optional_literal_allows_none_and_its_values_only() -> None:
    assert _PaletteConfig(accent=None).accent is None
    assert _PaletteConfig(accent="gold").accent == "gold"
    with pytest.raises(ConfigError, match=r"^palette\.accent: 'bronze' is not one of 'gold', 'silver', None$"):
        _PaletteConfig(accent="bronze")  # type: ignore[arg-type]
    assert _PaletteConfig(note="anything goes").note == "anything goes"  # not a literal: unchecked


def test_a_literal_value_matches_by_type_as_well() -> None:
    @dataclasses.dataclass(frozen=True)
    class SwitchConfig(Config):
        level: Literal[1, 2] = 1

    assert SwitchConfig(level=2).level == 2
    with pytest.raises(ConfigError, match=r"^switch\.level: True is not one of 1, 2$"):
        SwitchConfig(level=True)  # type: ignore[arg-type]


def test_section_names_come_from_the_class_name_unless_set() -> None:
    class ItemKNNConfig(Config):
        pass

    class Named(Config):
        section = "custom"

    assert section_of(ItemKNNConfig) == "item_knn"
    assert section_of(AssistantConfig) == "assistant"
    assert section_of(Named) == "custom"


def test_a_file_value_outside_the_literal_still_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "serve.toml"
    path.write_text('[assistant]\nwriter = "modle"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"serve\.toml\[assistant\]\.writer: 'modle' is not one of"):
        AssistantConfig.from_toml(path, "assistant")


def test_a_missing_shipped_adapter_is_an_error_naming_the_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "cartsmith-smollm2-lora"
    missing.mkdir()  # the folder is there, its manifest is not
    monkeypatch.setattr(assistant_config, "SHIPPED_ADAPTER", missing)
    with pytest.raises(ConfigError) as err:
        AssistantConfig().adapter_path()
    message = str(err.value)
    assert message.startswith("assistant.adapter: the shipped adapter is missing")
    assert str(missing) in message and 'adapter = "none"' in message


def test_a_present_shipped_adapter_is_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cartsmith-smollm2-lora"
    folder.mkdir()
    (folder / "cartsmith-adapter.json").write_text(json.dumps({"base_model_id": "x"}), encoding="utf-8")
    monkeypatch.setattr(assistant_config, "SHIPPED_ADAPTER", folder)
    assert AssistantConfig().adapter_path() == str(folder)


def test_the_bare_model_is_served_only_when_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assistant_config, "SHIPPED_ADAPTER", tmp_path / "nowhere")
    assert AssistantConfig(adapter="none").adapter_path() is None
    assert AssistantConfig(adapter=None).adapter_path() is None  # the same, for Python callers
    with pytest.raises(ConfigError, match="no adapter folder at"):
        AssistantConfig(adapter=str(tmp_path / "other")).adapter_path()
    other = tmp_path / "other"
    other.mkdir()
    assert AssistantConfig(adapter=str(other)).adapter_path() == str(other)
