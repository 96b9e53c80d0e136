"""The config API's building blocks without a device: secrets masked and kept, TOML written
back, what a change needs, atomic writes."""

from __future__ import annotations

import os

import pytest
from pydantic import BaseModel, ConfigDict, Field

from runtime.api.config_service import (
    MASK,
    backup_path,
    changed_paths,
    masked,
    plan,
    secret_paths,
    unmask,
    write_atomically,
)
from runtime.config import (
    ConfigError,
    DeviceConfig,
    Secret,
    default_config_path,
    dump_config,
    load_config,
    parse_config,
    validate_config,
)


# Settings of the shape the notification settings will have (webhooks with tokens, an SMTP
# password), to check the masking mechanism on nested models, lists and optional secrets.
class Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    url: str
    token: Secret | None = None


class Smtp(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    host: str = "localhost"
    password: Secret = ""


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    smtp: Smtp = Field(default_factory=Smtp)
    webhooks: list[Webhook] = Field(default_factory=list)
    by_name: dict[str, Webhook] = Field(default_factory=dict)


STORED = Notify(
    smtp=Smtp(host="mail", password="smtp-pass"),
    webhooks=[
        Webhook(id="cmms", url="https://cmms/hook", token="tok-cmms"),
        Webhook(id="mes", url="https://mes/hook", token="tok-mes"),
        Webhook(id="bare", url="https://bare/hook"),
    ],
    by_name={"erp": Webhook(id="erp", url="https://erp/hook", token="tok-erp")},
)


def test_secrets_are_found_in_nested_models_lists_and_dicts():
    assert sorted(secret_paths(STORED), key=str) == sorted(
        [
            ("smtp", "password"),
            ("webhooks", 0, "token"),
            ("webhooks", 1, "token"),
            ("by_name", "erp", "token"),
        ],
        key=str,
    )


def test_masked_view_shows_no_secret_and_leaves_unset_ones_unset():
    view = masked(STORED)
    text = repr(view)
    for secret in ("smtp-pass", "tok-cmms", "tok-mes", "tok-erp"):
        assert secret not in text
    assert view["smtp"]["password"] == MASK
    assert view["webhooks"][0]["token"] == MASK
    assert view["webhooks"][2]["token"] is None  # nothing stored: nothing to hide
    assert view["webhooks"][0]["url"] == "https://cmms/hook"


def test_sending_the_mask_back_keeps_each_stored_secret_even_after_reordering():
    sent = masked(STORED)
    sent["webhooks"] = [sent["webhooks"][1], sent["webhooks"][0], sent["webhooks"][2]]
    restored, problems = unmask(sent, Notify, STORED)
    assert problems == []
    again = Notify.model_validate(restored)
    assert again.smtp.password == "smtp-pass"
    assert [w.token for w in again.webhooks] == ["tok-mes", "tok-cmms", None]
    assert again.by_name["erp"].token == "tok-erp"
    assert sent["smtp"]["password"] == MASK  # the caller's data is not changed


def test_a_new_secret_replaces_the_stored_one_and_a_mask_without_one_is_a_problem():
    sent = masked(STORED)
    sent["smtp"]["password"] = "new-pass"
    sent["webhooks"].append({"id": "new", "url": "https://new/hook", "token": MASK})
    restored, problems = unmask(sent, Notify, STORED)
    assert Notify.model_validate(restored).smtp.password == "new-pass"
    assert problems == [
        f"webhooks[3].token: {MASK!r} stands for a stored secret, and none is stored here; "
        "send the secret itself"
    ]


def test_the_device_config_has_no_secrets_yet_and_masks_to_its_plain_dump():
    config = load_config(default_config_path("sim"))
    assert list(secret_paths(config)) == []
    assert masked(config) == config.model_dump(mode="json")


@pytest.mark.parametrize("board", ["sim", "rpi4"])
def test_written_toml_reads_back_as_the_same_config(board):
    config = load_config(default_config_path(board))
    text = dump_config(config, "first line\nsecond line")
    assert text.startswith("# first line\n# second line\n")
    assert parse_config(text) == config


def test_written_toml_keeps_overrides_and_unset_values_apart():
    data = load_config(default_config_path("sim")).model_dump(mode="json")
    data["machines"][0]["sensors"][0]["analysis"] = {"frame_length": 4096, "overlap": 0.5}
    data["http"]["port"] = 9443
    data["machines"][1]["bearing"] = {"balls": 9, "ball_diameter_mm": 7.9, "pitch_diameter_mm": 39}
    config = DeviceConfig.model_validate(data)
    assert parse_config(dump_config(config)) == config


def test_what_a_change_needs():
    config = load_config(default_config_path("sim"))
    data = config.model_dump(mode="json")
    data["machines"][0]["name"] = "Pump motor"
    data["machines"][1]["equipment_id"] = "FAN-9"
    data["machines"][0]["sensors"][1]["name"] = "DE bearing"
    data["machines"][0]["running_speed_rpm"] = 1490
    data["http"]["port"] = 9443
    data["http"]["key_rate_limit_per_s"] = 5
    data["store"]["retention"]["raw_days"] = 7
    changes = changed_paths(config, DeviceConfig.model_validate(data))
    live, restart, later, fieldbus = plan(changes)
    assert sorted(live) == [
        "http.key_rate_limit_per_s",
        "machines[0].name",
        "machines[0].sensors[1].name",
        "machines[1].equipment_id",
        "store.retention.raw_days",
    ]
    assert restart == ["machines[0].running_speed_rpm"]
    assert later == ["http.port"]
    assert fieldbus == []


def test_a_machine_added_or_removed_is_one_change_that_restarts():
    config = load_config(default_config_path("sim"))
    data = config.model_dump(mode="json")
    data["machines"].pop()
    changes = changed_paths(config, DeviceConfig.model_validate(data))
    assert changes == ["machines"]
    assert plan(changes) == ([], ["machines"], [], [])


def test_atomic_write_keeps_the_previous_version_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "device.toml"
    write_atomically(target, "a = 1\n", None)
    assert target.read_text() == "a = 1\n"
    assert not backup_path(target).exists()
    assert target.stat().st_mode & 0o777 == 0o600  # may hold secrets
    os.chmod(target, 0o640)
    write_atomically(target, "a = 2\n", "a = 1\n")
    assert target.read_text() == "a = 2\n"
    assert backup_path(target).read_text() == "a = 1\n"
    assert target.stat().st_mode & 0o777 == 0o640  # the owner's choice is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["device.toml", "device.toml.prev"]


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    target = tmp_path / "device.toml"
    target.write_text("a = 1\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_atomically(target, "a = 2\n", None)
    assert target.read_text() == "a = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["device.toml"]


def test_ids_of_the_wrong_type_are_problems_not_crashes():
    data = load_config(default_config_path("sim")).model_dump(mode="json")
    data["machines"][0]["id"] = {}
    data["machines"][1]["id"] = ["motor-2"]
    with pytest.raises(ConfigError) as refused:
        validate_config(data)
    assert [p.split(":")[0] for p in refused.value.problems] == ["machines[0].id", "machines[1].id"]


def test_text_toml_cannot_store_is_refused_when_written():
    data = load_config(default_config_path("sim")).model_dump(mode="json")
    data["machines"][0]["location"] = "Hall \ud800"  # a lone surrogate, as JSON can carry
    with pytest.raises(ValueError, match="surrogates"):
        dump_config(DeviceConfig.model_validate(data))
