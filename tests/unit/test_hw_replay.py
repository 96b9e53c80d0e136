"""Replay of recorded waveforms as a simulated sensor: the driver reads the file's samples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile
from simhw import IIS_FS, collect, drain

from board import load_board, open_board
from drivers.clock import VirtualClock
from dsp_ext import iis3dwb_scale

BOARD = """
[board]
name = "replay"
platform = "sim"
[board.spi.spi0]
chip_selects = 2
[[board.sensors]]
id = "rec-accel"
chip = "iis3dwb"
bus = "spi0"
cs = 0
range_g = 16
replay = {{ file = "{file}", loop = {loop}, scale = {scale} }}
[[board.sensors]]
id = "rec-current"
chip = "ads131m04"
bus = "spi0"
cs = 1
odr_hz = 1000
channel = 0
kind = "current"
units_per_volt = 50.0
replay = {{ file = "{file}", loop = {loop}, scale = {scale} }}
"""


def open_replay(tmp_path, file: str, loop: bool = True, scale: float = 1.0):
    path = tmp_path / "replay.toml"
    path.write_text(BOARD.format(file=file, loop=str(loop).lower(), scale=scale))
    clock = VirtualClock()
    board = open_board(load_board(path), clock)
    return board, clock


@pytest.fixture
def recording(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(3000) / IIS_FS
    data = np.stack(
        [20 * np.sin(2 * np.pi * 157 * t), rng.normal(0, 5, t.size), np.linspace(-30, 30, t.size)],
        axis=1,
    )
    np.save(tmp_path / "rec.npy", data)
    return data


def test_replay_returns_the_files_samples_looping(tmp_path, recording):
    board, clock = open_replay(tmp_path, "rec.npy")
    driver, info = board.sensors["rec-accel"], board.sensor_info["rec-accel"]
    driver.start()
    blocks = drain(driver, clock, 0.3)  # 8000 samples: more than two passes of 3000
    x = np.concatenate([info.decode(b) for b in blocks])
    assert len(x) > 7000
    expected = np.concatenate([recording] * 3)[: len(x)]
    assert np.abs(x - expected).max() <= iis3dwb_scale(16) / 2 + 1e-6


def test_replay_once_then_silence(tmp_path, recording):
    board, clock = open_replay(tmp_path, "rec.npy", loop=False)
    driver, info = board.sensors["rec-accel"], board.sensor_info["rec-accel"]
    driver.start()
    chunks = []
    for _ in range(80):
        clock.advance(driver.poll_interval)
        block = driver.read_block()
        if block is not None:
            chunks.append(info.decode(block))
    x = np.concatenate(chunks)
    assert np.abs(x[:3000] - recording).max() <= iis3dwb_scale(16) / 2 + 1e-6
    assert not x[3000:].any()


def test_replay_into_an_adc_channel_with_scale(tmp_path, recording):
    board, clock = open_replay(tmp_path, "rec.npy", scale=0.5)
    driver, info = board.sensors["rec-current"], board.sensor_info["rec-current"]
    driver.start()
    x = collect(driver, info.decode, clock, 2000)[:, 0]
    lsb = info.scales[0]
    # Column 0 of the file, halved, read as amps through a 50 A/V clamp (file at the ADC rate).
    assert np.abs(x - 0.5 * recording[: len(x), 0]).max() < lsb


def test_wav_is_resampled_to_the_chip_rate(tmp_path):
    fs = 8000
    t = np.arange(fs) / fs
    pcm = (0.5 * np.sin(2 * np.pi * 100 * t) * 32767).astype(np.int16)
    wavfile.write(tmp_path / "tone.wav", fs, pcm)
    board, clock = open_replay(tmp_path, "tone.wav", scale=10.0)
    driver, info = board.sensors["rec-accel"], board.sensor_info["rec-accel"]
    driver.start()
    x = collect(driver, info.decode, clock, 20000)[:, 0]
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    peak = np.argmax(spectrum) * IIS_FS / len(x)
    assert peak == pytest.approx(100, abs=2)  # still 100 Hz at 26.667 kHz
    assert np.abs(x).max() == pytest.approx(5.0, rel=0.02)
