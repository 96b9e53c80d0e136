import pytest

from runtime.config import ConfigError, default_config_path, load_config, parse_config


def test_shipped_sim_config_is_valid_and_uses_the_board_ids():
    config = load_config(default_config_path("sim"))
    assert [m.id for m in config.machines] == ["motor-1", "motor-2"]
    mounted = [mount.sensor for m in config.machines for mount in m.sensors]
    assert mounted == [
        "motor-1-accel",
        "motor-1-temp",
        "motor-1-current",
        "motor-2-accel",
        "motor-2-temp",
        "motor-2-current",
    ]
    assert config.machines[0].bearing.geometry().balls == 9


def test_every_problem_is_listed_by_path():
    text = """
[device]
timezone = "Mars/Olympus"
[analysis]
frame_length = 1000
update_interval_s = 1
overlap = 0.5
typo_setting = 3
[[machines]]
id = "Motor 1"
name = "x"
bearing = "9999"
  [[machines.sensors]]
  sensor = "a-accel"
  mounting = { x = "sideways" }
[[machines]]
id = "m"
name = "y"
  [[machines.sensors]]
  sensor = "a-accel"
[[machines]]
id = "m"
name = "z"
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "device.toml")
    problems = info.value.problems
    paths = [p.split(":", 1)[0] for p in problems]
    assert paths == [
        "device.timezone",
        "analysis.frame_length",
        "analysis.overlap",
        "analysis.typo_setting",
        "machines[0].id",
        "machines[0].bearing",
        "machines[0].sensors[0].mounting.x",
        "machines[1].sensors[0].sensor",
        "machines[2].id",
    ]
    assert "already mounted at machines[0].sensors[0]" in problems[7]
    assert str(info.value).startswith("device.toml: invalid config (9 problems)")


def test_broken_toml_and_missing_file_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[device\nname=1")
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")


def test_sensor_overrides_merge_with_device_analysis_defaults():
    config = parse_config(
        """
[analysis]
frame_length = 8192
[[machines]]
id = "pump-3"
name = "Pump 3"
bearing = { balls = 8, ball_diameter_mm = 6.0, pitch_diameter_mm = 30.0 }
  [[machines.sensors]]
  sensor = "pump-3-accel"
  analysis = { overlap = 0.5, window = "flattop" }
"""
    )
    mount = config.machines[0].sensors[0]
    merged = config.analysis_for(mount)
    assert merged.frame_length == 8192
    assert merged.overlap == 0.5 and merged.update_interval_s is None
    assert merged.window == "flattop"
    assert config.machines[0].bearing.geometry().pitch_diameter_mm == 30.0


def test_bearing_geometry_must_be_complete():
    with pytest.raises(ConfigError, match=r"machines\[0\]\.bearing: give all of balls"):
        parse_config('[[machines]]\nid="m"\nname="M"\nbearing = { balls = 8 }\n')


@pytest.mark.parametrize(
    "setting, value",
    [
        ("update_interval_s", 5e-324),
        ("update_interval_s", 0.0001),
        ("envelope_fmax_hz", 5e-324),
        ("spectrum_snapshot_interval_s", 0.001),
    ],
)
def test_absurdly_small_intervals_and_frequencies_are_refused(setting, value):
    with pytest.raises(ConfigError, match=f"analysis.{setting}: Input should be greater"):
        parse_config(f"[analysis]\n{setting} = {value!r}\n")


def test_overlap_cannot_make_the_update_interval_absurdly_short():
    from runtime.config import SensorMount
    from runtime.pipeline.vibration import update_interval

    mount = SensorMount(sensor="s-1", analysis={"frame_length": 256, "overlap": 0.9})
    options = parse_config("").analysis_for(mount)
    assert options.overlap == 0.9
    # 256 samples at 26.667 kHz with 90 % overlap would be an analysis every 0.96 ms.
    assert update_interval(options, 26667.0) == 0.05


@pytest.mark.parametrize("blank", ["", "   "])
def test_device_and_machine_names_must_not_be_blank(blank):
    text = f"""
[device]
name = "{blank}"
[[machines]]
id = "m"
name = "{blank}"
  [[machines.sensors]]
  sensor = "a-accel"
"""
    with pytest.raises(ConfigError) as err:
        parse_config(text, "sim")
    problems = "\n".join(err.value.problems)
    assert "device.name: " in problems and "machines[0].name: " in problems
    assert "give a name" in problems
