"""`esocore analyze`: reads WAV, CSV and NPY, prints the kernel's figures; bad files get one
line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from dsp_ext import (
    COMMON_BEARINGS,
    METRICS,
    AnalysisSettings,
    Analyzer,
    bearing_frequencies,
)
from runtime.cli import main

ESOCORE = Path(sys.executable).with_name("esocore")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["analyze", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys, *args: str) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def expected(frames: np.ndarray, fs: float, **kw) -> object:
    """What the kernel gives for these frames (channels, n) with the CLI's defaults."""
    settings = AnalysisSettings(fs=fs, n=frames.shape[1], **kw)
    return Analyzer(settings).analyze(np.ascontiguousarray(frames, dtype=np.float32))


def assert_report_matches(report: dict, result, names: list[str]) -> None:
    """Every number in the JSON document equals the kernel's (JSON floats round-trip)."""
    assert [c["name"] for c in report["channels"]] == names
    for i, channel in enumerate(report["channels"]):
        for j, name in enumerate(METRICS):
            want = float(result.metric_values[i, j])
            got = channel["metrics"][name]
            if math.isnan(want):
                assert got is None, name
            else:
                assert got == want, name
        for key, rows in (("peaks", result.peaks[i]), ("envelope_peaks", result.envelope_peaks[i])):
            listed = [(p["frequency_hz"], p["amplitude"]) for p in channel[key]]
            used = [(float(f), float(a)) for f, a in rows if f > 0 or a > 0]
            assert listed == used, key


def tones(n: int, fs: float, freqs: list[float], amps: list[float]) -> np.ndarray:
    t = np.arange(n) / fs
    rng = np.random.default_rng(len(freqs))
    return np.stack(
        [
            a * np.sin(2 * np.pi * f * t) + rng.normal(0, 0.01 * a, n)
            for f, a in zip(freqs, amps, strict=True)
        ],
        axis=1,
    )


# --- good files ------------------------------------------------------------------------------


def test_wav_int16_is_read_as_fraction_of_full_scale(tmp_path, capsys):
    fs = 8000
    x = tones(5000, fs, [100.0], [0.5])[:, 0]
    pcm = np.round(x * 32767).astype(np.int16)
    path = tmp_path / "motor.wav"
    wavfile.write(path, fs, pcm)
    report = run_json(capsys, str(path), "--scale", "20")
    assert report["fs_hz"] == fs and report["n"] == 4096  # the largest power of two that fits
    frame = pcm[:4096].astype(np.float64) / 32768 * 20  # int16 full scale is 32768
    assert_report_matches(report, expected(frame[np.newaxis], fs), ["0"])
    # 0.5 of full scale at 20 m/s² per full scale: 10 m/s² peak
    assert report["channels"][0]["metrics"]["accel_rms"] == pytest.approx(
        10 / math.sqrt(2), rel=2e-3
    )
    assert report["channels"][0]["metrics"]["dominant_freq"] == pytest.approx(100.0, abs=fs / 4096)


def test_wav_float32_two_channels(tmp_path, capsys):
    fs = 25600
    x = tones(9000, fs, [160.0, 2500.0], [3.0, 1.5]).astype(np.float32)
    path = tmp_path / "two.wav"
    wavfile.write(path, fs, x)
    report = run_json(capsys, str(path))
    assert report["fs_hz"] == fs and report["n"] == 8192
    assert_report_matches(report, expected(x[:8192].T, fs), ["0", "1"])


def test_csv_with_header_and_axis_columns_by_name(tmp_path, capsys):
    fs = 2000.0
    x = tones(3000, fs, [50.0, 120.0, 300.0], [1.0, 2.0, 3.0])
    path = tmp_path / "axes.csv"
    np.savetxt(path, x, delimiter=",", header="x,y,z", comments="")
    report = run_json(capsys, str(path), "--fs", "2000", "--axis-columns", "z,x")
    assert_report_matches(report, expected(x[:2048, [2, 0]].T, fs), ["z", "x"])
    # a low-rate sensor: no high-frequency band
    assert report["hf_band_hz"] is None
    assert report["channels"][0]["metrics"]["hf_accel_rms"] is None


def test_csv_without_header_and_column_by_index(tmp_path, capsys):
    fs = 4096.0
    x = tones(1500, fs, [64.0, 256.0], [1.0, 4.0])
    path = tmp_path / "plain.csv"
    np.savetxt(path, x, delimiter=",")
    report = run_json(capsys, str(path), "--fs", "4096", "--axis-columns", "1")
    assert_report_matches(report, expected(x[:1024, [1]].T, fs), ["1"])
    report = run_json(capsys, str(path), "--fs", "4096")
    assert_report_matches(report, expected(x[:1024].T, fs), ["0", "1"])


@pytest.mark.parametrize("shape", [(3000,), (3000, 3)])
def test_npy(tmp_path, capsys, shape):
    fs = 10000.0
    x = np.random.default_rng(5).normal(0, 1, shape)
    path = tmp_path / "frames.npy"
    np.save(path, x)
    report = run_json(capsys, str(path), "--fs", "10000", "--window", "flattop")
    frames = x[:2048].reshape(2048, -1).T
    assert_report_matches(
        report, expected(frames, fs, window="flattop"), [str(i) for i in range(len(frames))]
    )
    assert report["window"] == "flattop"


def test_frame_selection_band_and_peaks_options(tmp_path, capsys):
    fs = 25600.0
    x = tones(30000, fs, [440.0], [2.0])
    path = tmp_path / "long.npy"
    np.save(path, x)
    report = run_json(
        capsys,
        str(path),
        "--fs",
        "25600",
        "--n",
        "1024",
        "--offset",
        "0.5",
        "--band",
        "100",
        "2000",
        "--envelope-band",
        "3000",
        "6000",
        "--peaks",
        "3",
    )
    start = round(0.5 * fs)
    assert report["offset_s"] == start / fs and report["n"] == 1024
    assert report["velocity_band_hz"] == [100.0, 2000.0]
    assert report["envelope_band_hz"] == [3000.0, 6000.0]
    result = expected(
        x[start : start + 1024].T,
        fs,
        velocity_band=(100.0, 2000.0),
        envelope_band=(3000.0, 6000.0),
        n_peaks=3,
    )
    assert_report_matches(report, result, ["0"])
    assert len(report["channels"][0]["peaks"]) <= 3


def test_bearing_frequencies_in_the_report(tmp_path, capsys):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(1).normal(size=4096))
    report = run_json(capsys, str(path), "--fs", "25600", "--rpm", "1480", "--bearing", "6203")
    want = bearing_frequencies(COMMON_BEARINGS["6203"], 1480 / 60).as_dict()
    assert report["bearing"] == {"designation": "6203", "frequencies_hz": want}


def test_text_output_lists_every_metric(tmp_path, capsys):
    path = tmp_path / "slow.csv"
    np.savetxt(path, tones(2048, 2000.0, [60.0], [1.0]), delimiter=",")
    code, out, err = run(capsys, str(path), "--fs", "2000")
    assert code == 0 and err == ""
    for name in METRICS:
        assert name in out
    assert "hf_accel_rms    not reported" in out
    assert "spectrum peaks  60.00 Hz" in out


def test_demo_signal_shows_its_bearing_fault(capsys):
    """The README's quick-start job: the demo's outer-race defect is the top envelope line."""
    report = run_json(capsys, "--demo", "--rpm", "1480")
    bpfo = report["bearing"]["frequencies_hz"]["bpfo"]
    x = report["channels"][0]
    assert abs(x["envelope_peaks"][0]["frequency_hz"] - bpfo) <= report["bin_width_hz"]


# --- bad files and arguments: one line on stderr, exit code 2 ------------------------------


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def good_csv_rows(rows: int = 600) -> str:
    return "\n".join(f"{math.sin(i / 5):.6f},{math.cos(i / 7):.6f}" for i in range(rows)) + "\n"


BAD_FILES = {
    "missing": lambda d: (d / "nope.csv", ["--fs", "1000"], "no such file"),
    "empty": lambda d: (write(d / "empty.csv", ""), ["--fs", "1000"], "file is empty"),
    "nan_csv": lambda d: (
        write(d / "nan.csv", good_csv_rows(300) + "nan,1\n" + good_csv_rows(300)),
        ["--fs", "1000"],
        "sample 300 of channel '0' is not a finite number",
    ),
    "inf_npy": lambda d: (
        d / "inf.npy",
        ["--fs", "1000"],
        "is not a finite number",
    ),
    "three_d_npy": lambda d: (
        d / "cube.npy",
        ["--fs", "1000"],
        "expected (samples,) or (samples, channels)",
    ),
    "complex_npy": lambda d: (d / "complex.npy", ["--fs", "1000"], "must hold a numeric array"),
    "garbage_npy": lambda d: (
        write(d / "junk.npy", b"not numpy"),
        ["--fs", "1000"],
        "not a readable NPY",
    ),
    "garbage_wav": lambda d: (write(d / "junk.wav", b"RIFF1234WAVEjunk"), [], "not a readable WAV"),
    "unknown_suffix": lambda d: (
        write(d / "data.txt", good_csv_rows()),
        ["--fs", "1000"],
        "unknown format 'txt'",
    ),
    "no_suffix": lambda d: (write(d / "data", good_csv_rows()), ["--fs", "1000"], "unknown format"),
    "too_short": lambda d: (
        write(d / "short.csv", good_csv_rows(100)),
        ["--fs", "1000"],
        "100 samples from the offset; at least 256 are needed",
    ),
    "text_cell": lambda d: (
        write(d / "text.csv", "x,y\n" + good_csv_rows(10) + "1.0,oops\n" + good_csv_rows(500)),
        ["--fs", "1000"],
        "line 12 holds a value that is not a number",
    ),
    "ragged_row": lambda d: (
        write(d / "ragged.csv", good_csv_rows(10) + "1.0\n" + good_csv_rows(500)),
        ["--fs", "1000"],
        "line 11 has 1 columns, expected 2",
    ),
    "header_only": lambda d: (
        write(d / "header.csv", "x,y,z\n"),
        ["--fs", "1000"],
        "contains no samples",
    ),
    "csv_without_fs": lambda d: (write(d / "nofs.csv", good_csv_rows()), [], "give --fs HZ"),
    "unknown_column": lambda d: (
        write(d / "cols.csv", "x,y\n" + good_csv_rows()),
        ["--fs", "1000", "--axis-columns", "x,q"],
        "no column 'q'; columns are x, y",
    ),
    "directory": lambda d: ((d / "dir.csv"), ["--fs", "1000"], "no such file"),
    "n_too_long": lambda d: (
        write(d / "n.csv", good_csv_rows()),
        ["--fs", "1000", "--n", "1024"],
        "--n 1024 needs",
    ),
    "n_not_power_of_two": lambda d: (
        write(d / "n2.csv", good_csv_rows()),
        ["--fs", "1000", "--n", "300"],
        "n: must be a power of two",
    ),
    "offset_past_end": lambda d: (
        write(d / "off.csv", good_csv_rows()),
        ["--fs", "1000", "--offset", "5"],
        "lies outside the recording",
    ),
    "negative_fs": lambda d: (
        write(d / "neg.csv", good_csv_rows()),
        ["--fs", "-5"],
        "fs: must be a positive",
    ),
    "band_above_nyquist": lambda d: (
        write(d / "band.csv", good_csv_rows()),
        ["--fs", "1000", "--band", "10", "900"],
        "above the Nyquist frequency 500 Hz",
    ),
}


# cases where the file is fine and an option is wrong: the message is about the option
FILE_IS_FINE = ("csv_without_fs", "offset_past_end", "negative_fs", "band_above_nyquist")


@pytest.fixture
def bad_dir(tmp_path: Path) -> Path:
    np.save(tmp_path / "inf.npy", np.concatenate([np.zeros(400), [np.inf], np.zeros(400)]))
    np.save(tmp_path / "cube.npy", np.zeros((300, 2, 2)))
    np.save(tmp_path / "complex.npy", np.zeros(600, dtype=complex))
    (tmp_path / "dir.csv").mkdir()
    return tmp_path


def assert_one_line_error(code: int, out: str, err: str, words: str) -> None:
    assert code == 2, (code, out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("esocore analyze: error: "), lines[0]
    assert words in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_one_line_and_exit_2(case, bad_dir, capsys):
    path, extra, words = BAD_FILES[case](bad_dir)
    code, out, err = run(capsys, str(path), *extra)
    assert_one_line_error(code, out, err, words)
    about_the_file = case not in FILE_IS_FINE and not case.startswith("n_")
    if about_the_file:
        assert path.name in err


def test_no_file_and_file_with_demo(capsys):
    assert_one_line_error(*run(capsys), "give a waveform file (or --demo)")
    assert_one_line_error(*run(capsys, "x.csv", "--demo"), "not both")


# Regression tests for bugs found while writing these tests (the kernel was right; the CLI let
# a ValueError escape as a traceback, or accepted a file it should refuse). They failed against
# 2f42efb and pass since 1956795 fixed runtime/analyze_command.py and settings.hf_enabled.


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--fs", "nan"], "fs"),
        (["--fs", "inf"], "fs"),
        (["--fs", "1000", "--offset", "nan"], "offset"),
        (["--fs", "1000", "--scale", "nan"], "scale"),
    ],
)
def test_non_finite_numbers_on_the_command_line(tmp_path, capsys, extra, words):
    path = write(tmp_path / "ok.csv", good_csv_rows())
    code, out, err = run(capsys, str(path), *extra)
    assert_one_line_error(code, out, err, words)


def test_value_beyond_float32_range_in_a_file(tmp_path, capsys):
    """1e39 is a finite float64 (so the reader accepts it) but overflows the kernel's float32
    input: the CLI must refuse the file, not crash with the kernel's ValueError."""
    path = write(tmp_path / "huge.csv", good_csv_rows(300) + "1e39,0\n" + good_csv_rows(300))
    code, out, err = run(capsys, str(path), "--fs", "1000")
    assert_one_line_error(code, out, err, "huge.csv")


def test_scale_that_overflows_float32(tmp_path, capsys):
    path = write(tmp_path / "ok.csv", good_csv_rows())
    code, out, err = run(capsys, str(path), "--fs", "1000", "--scale", "1e39")
    assert_one_line_error(code, out, err, "scale")


def test_npy_with_no_channels_is_a_wrong_shape(tmp_path, capsys):
    np.save(tmp_path / "nochannels.npy", np.zeros((1000, 0)))
    code, out, err = run(capsys, str(tmp_path / "nochannels.npy"), "--fs", "1000")
    assert_one_line_error(code, out, err, "nochannels.npy")


def test_hf_band_and_hf_figure_agree(tmp_path, capsys):
    """fs = 2570 Hz, n = 256: the default HF band 1000 .. 1003.9 Hz is narrower than a bin
    (10.04 Hz) but holds bin 100 (1003.9 Hz). The report says the band is off (null) while the
    figure computed from that one bin is printed: one of the two is wrong."""
    path = tmp_path / "edge.npy"
    np.save(path, np.random.default_rng(2).normal(size=256))
    report = run_json(capsys, str(path), "--fs", "2570")
    hf_value = report["channels"][0]["metrics"]["hf_accel_rms"]
    assert (report["hf_band_hz"] is None) == (hf_value is None), (report["hf_band_hz"], hf_value)


# --- the installed console script ------------------------------------------------------------


def test_console_script_json(tmp_path):
    fs = 25600.0
    x = tones(5000, fs, [200.0, 3000.0], [1.0, 2.0])
    path = tmp_path / "run.csv"
    np.savetxt(path, x, delimiter=",", header="a,b", comments="")
    proc = subprocess.run(
        [str(ESOCORE), "analyze", str(path), "--fs", "25600", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert_report_matches(report, expected(x[:4096].T, fs), ["a", "b"])


def test_console_script_bad_file(tmp_path):
    path = write(tmp_path / "bad.csv", "a,b\n1,2\nthree,4\n")
    proc = subprocess.run(
        [str(ESOCORE), "analyze", str(path), "--fs", "100"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "bad.csv")
