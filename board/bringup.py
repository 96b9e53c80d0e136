"""Board bring-up: turn a BoardSpec into drivers on real buses or on simulated chips.

    spec = load_board("sim")
    board = open_board(spec, clock, seed=0)
    for sensor_id, driver in board.sensors.items():
        driver.start()              # each sensor on its own: one failing chip stops nothing else
    block = board.sensors["motor-1-accel"].read_block()
    samples = board.sensor_info["motor-1-accel"].decode(block)   # (n, 3) m/s²
    board.plant.inject_fault("motor-1", "imbalance", 0.5)

Drivers are created but not started; a missing device node on a real board surfaces as
BusUnavailable from that sensor's start().
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drivers.ads131m04 import AdcChannel, Ads131m04
from drivers.ads131m04 import regs as ads_regs
from drivers.adxl355 import Adxl355
from drivers.hal import BusUnavailable, Clock, GpioInput, RawBlock, SpiDevice
from drivers.iis3dwb import Iis3dwb
from drivers.max31865 import Max31865
from drivers.sensor import SensorDriver
from dsp_ext.rtd import celsius_to_code, rtd_temperature
from hal_sim.bus import SimGpioInput, SimSpiBus
from hal_sim.chips import Ads131m04Model, Adxl355Model, Iis3dwbModel, Max31865Model
from hal_sim.plant import Plant
from hal_sim.replay import ReplaySource
from hal_sim.signal import stable_key
from hal_sim.sources import FixedTemperature, QuietAccel, QuietChannel
from hal_sim.switch import SimDipSwitch

from .address_switch import AddressSwitch
from .decode import adc_scale, chip_decoder, sensor_decoder
from .model import BoardSpec, SensorSpec

Decoder = Callable[[RawBlock], np.ndarray]


@dataclass(frozen=True)
class SensorInfo:
    """What the runtime needs to know about a sensor besides its driver."""

    id: str
    name: str
    kind: str  # accel | current | temperature | voltage
    chip: str
    machine: str | None  # machine it is mounted on, if the board says
    channels: tuple[str, ...]  # column names of decode(): ("x", "y", "z") or ("ch0",) ...
    columns: tuple[int, ...]  # its columns in the decoded blocks of its chip (BoardChip)
    mounting: dict[str, str]  # accelerometers: axis -> radial_horizontal/radial_vertical/axial
    unit: str  # of the decoded values: m/s², A, V, mA, °C
    scales: tuple[float, ...]  # engineering units per LSB per channel (accel, ADC; RTD: ())
    rate_hz: float
    device: str  # bus device, e.g. /dev/spidev0.0 or sim:spi0.0
    decode: Decoder  # RawBlock of this sensor's driver -> (n, len(channels)) float32
    spec: SensorSpec


@dataclass
class BoardChip:
    """A chip and every sensor it carries: drive `driver`, decode with `decode` (all of the
    chip's channels), and give each sensor its `columns`. Useful for a shared ADC."""

    name: str
    driver: SensorDriver
    decode: Decoder
    sensors: list[SensorInfo] = field(default_factory=list)


class Board:
    """An opened board: drivers by sensor id, their metadata, and the plant if simulated."""

    def __init__(self, spec: BoardSpec, clock: Clock, plant: Plant | None) -> None:
        self.spec = spec
        self.clock = clock
        self.plant = plant
        self.sensors: dict[str, SensorDriver] = {}
        self.sensor_info: dict[str, SensorInfo] = {}
        self.chips: list[BoardChip] = []
        # The station-address DIP switch, if the board has one ([board.address_switch]).
        self.address_switch: AddressSwitch | None = None
        # On a simulated board, the switch itself (tests and tools set it).
        self.sim_switch: SimDipSwitch | None = None
        self._closers: list[Callable[[], None]] = []

    @property
    def simulated(self) -> bool:
        return self.plant is not None

    def close(self) -> None:
        """Stop every driver and release the buses (safe to call twice)."""
        for chip in self.chips:
            with contextlib.suppress(Exception):
                chip.driver.stop()
        for driver in self.sensors.values():
            with contextlib.suppress(Exception):
                driver.stop()
        for close in self._closers:
            with contextlib.suppress(Exception):
                close()
        self._closers.clear()


class _LazyGpio:
    """A Linux GPIO input opened at the first read (like the SPI nodes)."""

    def __init__(self, chip: str, line: int, bias: str | None = "pull-up") -> None:
        self.name = f"{chip} line {line}"
        self._args = (chip, line)
        self._bias = bias
        self._gpio: Any = None

    def read(self) -> bool:
        if self._gpio is None:
            from drivers.linux import LinuxGpioInput

            self._gpio = LinuxGpioInput(*self._args, bias=self._bias)
        return self._gpio.read()

    def close(self) -> None:
        if self._gpio is not None:
            self._gpio.close()
            self._gpio = None


def open_board(spec: BoardSpec, clock: Clock, seed: int = 0) -> Board:
    """Create the drivers of `spec`: on simulated chips (and a Plant) for platform "sim",
    on spidev and the GPIO character device for platform "linux"."""
    if spec.platform == "sim":
        plant = Plant(clock, spec.machines, seed)
        board = Board(spec, clock, plant)
        buses = {name: SimSpiBus(f"sim:{name}") for name in spec.spi}
        hw = _SimHardware(board, plant, buses, seed)
    else:
        board = Board(spec, clock, None)
        hw = _LinuxHardware(board, spec)
    groups: dict[tuple[str, int], list[SensorSpec]] = {}
    for s in spec.sensors:
        groups.setdefault((s.bus, s.cs), []).append(s)
    for (_bus, _cs), sensors in groups.items():
        first = sensors[0]
        if first.chip == "ads131m04":
            _add_adc(board, hw, sensors)
        else:
            _add_single(board, hw, first)
    if spec.address_switch is not None:
        board.address_switch = hw.address_switch(spec)
    return board


def _info(
    s: SensorSpec,
    driver: SensorDriver,
    columns: tuple[int, ...],
    scales: tuple[float, ...],
    decode: Decoder,
) -> SensorInfo:
    return SensorInfo(
        id=s.id,
        name=s.name,
        kind=s.kind,
        chip=s.chip,
        machine=s.machine,
        channels=driver.channels,
        columns=columns,
        mounting=dict(s.mounting),
        unit=s.unit,
        scales=scales,
        rate_hz=driver.odr_hz,
        device=driver.device,
        decode=decode,
        spec=s,
    )


def _add_single(board: Board, hw: _Hardware, s: SensorSpec) -> None:
    spi = hw.spi(s)
    clock = board.clock
    if s.chip == "iis3dwb":
        driver: SensorDriver = Iis3dwb(spi, clock, range_g=int(s.range_g or 16), sleep=hw.sleep)
    elif s.chip == "adxl355":
        driver = Adxl355(
            spi, clock, odr_hz=float(s.odr_hz or 4000), range_g=int(s.range_g or 2), sleep=hw.sleep
        )
    else:
        r0, r_ref = float(s.r0 or 100.0), float(s.r_ref or 430.0)
        lo, hi = s.range_c or (-50.0, 200.0)
        driver = Max31865(
            spi,
            clock,
            r_ref=r_ref,
            r0=r0,
            wires=int(s.wires or 3),
            filter_hz=int(s.filter_hz or 50),
            sample_interval=float(s.sample_interval_s or 1.0),
            low_code=celsius_to_code(lo, r_ref, r0),
            high_code=celsius_to_code(hi, r_ref, r0),
            to_celsius=lambda ohms, r0=r0: float(rtd_temperature(ohms, r0)),
            sleep=hw.sleep,
        )
    hw.attach(s, driver)
    decode = sensor_decoder(s)
    columns = tuple(range(len(driver.channels)))
    scales = _scales(s)
    info = _info(s, driver, columns, scales, decode)
    board.sensors[s.id] = driver
    board.sensor_info[s.id] = info
    board.chips.append(BoardChip(s.id, driver, decode, [info]))


def _add_adc(board: Board, hw: _Hardware, sensors: list[SensorSpec]) -> None:
    first = sensors[0]
    gains = [1, 1, 1, 1]
    for s in sensors:
        gains[int(s.channel or 0)] = int(s.gain or 1)
    spi = hw.spi(first)
    drdy = hw.drdy(first)
    adc = Ads131m04(
        spi, drdy, board.clock, odr_hz=float(first.odr_hz or 1000), gains=gains, sleep=hw.sleep
    )
    hw.attach_adc(sensors, adc)
    scales = [ads_regs.REFERENCE_V / (1 << 23) / g for g in gains]
    for s in sensors:
        scales[int(s.channel or 0)] = adc_scale(s)
    chip = BoardChip(f"{first.bus}.{first.cs}", adc, chip_decoder("ads131m04", scales), [])
    for s in sensors:
        channel = int(s.channel or 0)
        view = AdcChannel(adc, channel, kind=s.kind)
        info = _info(s, view, (channel,), (adc_scale(s),), sensor_decoder(s))
        board.sensors[s.id] = view
        board.sensor_info[s.id] = info
        chip.sensors.append(info)
    board.chips.append(chip)


def _scales(s: SensorSpec) -> tuple[float, ...]:
    from dsp_ext import adxl355_scale, iis3dwb_scale

    if s.chip == "iis3dwb":
        return (iis3dwb_scale(int(s.range_g or 16)),) * 3
    if s.chip == "adxl355":
        return (adxl355_scale(int(s.range_g or 2)),) * 3
    return ()


# -- where the chips are ---------------------------------------------------------------------


class _Hardware:
    sleep: Callable[[float], None] | None

    def spi(self, s: SensorSpec) -> SpiDevice:
        raise NotImplementedError

    def drdy(self, s: SensorSpec) -> GpioInput:
        raise NotImplementedError

    def attach(self, s: SensorSpec, driver: SensorDriver) -> None:
        pass

    def attach_adc(self, sensors: list[SensorSpec], adc: Ads131m04) -> None:
        pass

    def address_switch(self, spec: BoardSpec) -> AddressSwitch:
        raise NotImplementedError


class _SimHardware(_Hardware):
    """Chip models on simulated buses, measuring the plant (or a recording)."""

    sleep = None  # simulated chips settle at once; never move a shared virtual clock

    def __init__(self, board: Board, plant: Plant, buses: dict[str, SimSpiBus], seed: int):
        self.board = board
        self.plant = plant
        self.buses = buses
        self.seed = seed
        self._adc_models: dict[int, Ads131m04Model] = {}

    def spi(self, s: SensorSpec) -> SpiDevice:
        return self.buses[s.bus].device(s.cs)

    def drdy(self, s: SensorSpec) -> GpioInput:
        # The model does not exist yet: read through a late-bound lambda.
        key = id(s)
        line = s.drdy if s.drdy is not None else 25
        return SimGpioInput(f"sim:gpio{line}", lambda: self._adc_models[key].drdy_level())

    def address_switch(self, spec: BoardSpec) -> AddressSwitch:
        switch = spec.address_switch
        assert switch is not None
        dip = SimDipSwitch(switch.lines, switch.active_low, switch.value or 0)
        self.board.sim_switch = dip
        return AddressSwitch(dip.inputs(), switch.active_low)

    def attach(self, s: SensorSpec, driver: SensorDriver) -> None:
        clock, plant = self.board.clock, self.plant
        bus = self.buses[s.bus]
        if s.chip in ("iis3dwb", "adxl355"):
            if s.replay is not None:
                plant.add_sensor(s.id, s.machine)
                source: Any = ReplaySource(
                    s.replay.path, 3, loop=s.replay.loop, scale=s.replay.scale, fs=s.replay.fs
                )
            elif s.machine is not None:
                mounting = tuple(s.mounting[a] for a in ("x", "y", "z"))
                source = plant.accel_source(s.id, s.machine, mounting)  # type: ignore[arg-type]
            else:
                plant.add_sensor(s.id, None)
                source = QuietAccel(self.seed, stable_key("quiet", s.id))
            model_cls = Iis3dwbModel if s.chip == "iis3dwb" else Adxl355Model
            bus.attach(s.cs, model_cls(clock, source, plant.conditions([s.id])))
        else:
            if s.machine is not None:
                probe: Any = plant.temperature_source(s.id, s.machine)
            else:
                plant.add_sensor(s.id, None)
                probe = FixedTemperature(25.0)
            model = Max31865Model(
                clock,
                probe,
                r_ref=float(s.r_ref or 430.0),
                r0=float(s.r0 or 100.0),
                seed=self.seed,
                key=s.id,
                conditions=plant.conditions([s.id], unplug=False),
            )
            bus.attach(s.cs, model)

    def attach_adc(self, sensors: list[SensorSpec], adc: Ads131m04) -> None:
        plant = self.plant
        inputs: list[Any] = [None] * 4
        for ch in range(4):
            inputs[ch] = QuietChannel(
                self.seed, stable_key("adc-in", sensors[0].bus, sensors[0].cs, ch)
            )
        for s in sensors:
            ch = int(s.channel or 0)
            per_volt = float(s.units_per_volt or 1.0)
            if s.replay is not None:
                plant.add_sensor(s.id, s.machine)
                inputs[ch] = ReplaySource(
                    s.replay.path,
                    1,
                    loop=s.replay.loop,
                    scale=s.replay.scale / per_volt,
                    fs=s.replay.fs,
                )
            elif s.machine is not None and s.kind == "current":
                inputs[ch] = plant.current_source(s.id, s.machine, per_volt)
            else:
                plant.add_sensor(s.id, s.machine)
        model = Ads131m04Model(
            self.board.clock, inputs, plant.conditions([s.id for s in sensors], unplug=False)
        )
        self._adc_models[id(sensors[0])] = model
        self.buses[sensors[0].bus].attach(sensors[0].cs, model)


class _LinuxHardware(_Hardware):
    """spidev nodes and GPIO lines, opened lazily so each sensor fails on its own."""

    sleep = staticmethod(time.sleep)

    def __init__(self, board: Board, spec: BoardSpec) -> None:
        from drivers.linux import LazySpiDevice

        self._lazy = LazySpiDevice
        self.board = board
        self.spec = spec

    def spi(self, s: SensorSpec) -> SpiDevice:
        bus = self.spec.spi[s.bus]
        driver_cls = {
            "iis3dwb": Iis3dwb,
            "adxl355": Adxl355,
            "ads131m04": Ads131m04,
            "max31865": Max31865,
        }[s.chip]
        speed = min(bus.max_speed_hz, driver_cls.MAX_SPEED_HZ)
        device = self._lazy(f"{bus.device}.{s.cs}", driver_cls.SPI_MODE, speed)
        self.board._closers.append(device.close)
        return device

    def drdy(self, s: SensorSpec) -> GpioInput:
        if s.drdy is None:
            raise BusUnavailable(s.id, "an ADS131M04 needs its DRDY line (drdy = <GPIO line>)")
        gpio = _LazyGpio(self.spec.gpio_chip, s.drdy)
        self.board._closers.append(gpio.close)
        return gpio

    def address_switch(self, spec: BoardSpec) -> AddressSwitch:
        """Each line biased against its switch: pulled up when a closed switch reads low."""
        switch = spec.address_switch
        assert switch is not None
        bias = "pull-up" if switch.active_low else "pull-down"
        lines = [_LazyGpio(spec.gpio_chip, line, bias) for line in switch.lines]
        for gpio in lines:
            self.board._closers.append(gpio.close)
        return AddressSwitch(lines, switch.active_low)
