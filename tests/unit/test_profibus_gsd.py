"""The generated GSD file: pyprofibus's GSD parser (an independent reader) takes it and finds
the ident number, the modules with their configuration bytes and the user parameters; the
module list and the [profibus] section refuse what does not fit."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pyprofibus.gsd.interp import GsdInterp

from runtime.catalog import Catalog
from runtime.config import DeviceConfig, default_config_path, load_config
from runtime.fieldbus.profibus.config import ProfibusConfig
from runtime.fieldbus.profibus.gsd import gsd_name, gsd_text, max_tsdr
from runtime.fieldbus.profibus.service import with_overrides
from runtime.fieldbus.profibus.slave import (
    ProfibusModuleError,
    build_modules,
    dp_setup,
    extended_diagnosis,
)
from runtime.modbus_command import plant_catalog


@pytest.fixture(scope="module")
def sim() -> tuple[DeviceConfig, Catalog]:
    config = load_config(default_config_path("sim"))
    return config, plant_catalog(config, None)


def _parse(tmp_path, text: str) -> GsdInterp:
    path = tmp_path / "device.gsd"
    path.write_bytes(text.encode("ascii"))
    return GsdInterp.fromFile(str(path))


def test_pyprofibus_parses_the_default_gsd(sim, tmp_path):
    config, catalog = sim
    modules = build_modules(config.profibus, catalog)
    gsd = _parse(tmp_path, gsd_text(config.profibus, modules))
    assert gsd.getField("Ident_Number") == 0x0ECE and gsd.isModular()
    found = [(m.name, bytes(m.configBytes)) for m in gsd.getField("Module")]
    assert found == [("Motor 1 Health", b"\xd7\x20"), ("Motor 2 Health", b"\xd7\x20")]
    assert gsd.getField("Max_Input_Len") == 32 and gsd.getField("Max_Output_Len") == 2
    assert gsd.getUserPrmData() == b"\0\0"
    assert gsd.getField("19.2_supp") and not gsd.getField("12M_supp", False)
    assert gsd.getMaxTSDR(19200) == max_tsdr(19200) >= 60
    assert gsd.getField("Max_Diag_Data_Len") == 6 + len(extended_diagnosis([(0, 0)] * 2))
    for module in gsd.getField("Module"):
        gsd.setConfiguredModule(module.name)
    chk_cfg = b"".join(bytes(e.getDU()) for e in gsd.getCfgDataElements())
    assert chk_cfg == dp_setup(config.profibus, modules).config  # what Chk_Cfg will carry


def test_a_module_list_picks_machines_and_kinds(sim, tmp_path):
    _, catalog = sim
    profibus = ProfibusConfig.model_validate(
        {"ident_number": 0xBEEF, "modules": [{"machine": "motor-2", "kind": "status"}]}
    )
    modules = build_modules(profibus, catalog)
    assert [(m.machine_id, m.input_size, m.machine_index) for m in modules] == [("motor-2", 4, 1)]
    gsd = _parse(tmp_path, gsd_text(profibus, modules))
    assert gsd.getIdentNumber() == 0xBEEF
    assert [bytes(m.configBytes) for m in gsd.getField("Module")] == [b"\xd1\x20"]
    assert gsd_name(profibus) == "ESOCBEEF.GSD"
    bad = ProfibusConfig.model_validate({"modules": [{"machine": "pump-9"}]})
    with pytest.raises(ProfibusModuleError, match=r"profibus.modules\[0\].machine: no machine"):
        build_modules(bad, catalog)


def test_the_config_section_refuses_what_a_slave_cannot_be():
    for data, message in [
        ({"address": 126}, r"126 is not a station address \(0..125"),
        ({"baud": 115200}, "not a PROFIBUS baud rate"),
        ({"enabled": True}, "give port"),
        ({"modules": []}, "at least one module"),
        ({"modules": [{"machine": "m", "kind": "all"}]}, "health"),
    ]:
        with pytest.raises(ValidationError, match=message):
            ProfibusConfig.model_validate(data)
    assert not DeviceConfig().profibus.enabled
    overridden = with_overrides(ProfibusConfig(), "/dev/ttyUSB0", 3, 93750)
    assert (overridden.enabled, overridden.port, overridden.address, overridden.baud) == (
        True,
        "/dev/ttyUSB0",
        3,
        93750,
    )


def test_extended_diagnosis_blocks():
    assert extended_diagnosis([(0, 0), (2, 130), (3, 0)]) == bytes(
        (10, 0, 0, 0, 2, 0, 130, 3, 0, 0, 0x42, 0b110)
    )
