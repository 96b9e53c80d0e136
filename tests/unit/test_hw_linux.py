"""drivers.linux without the hardware: importable, and missing device nodes give clear errors."""

from __future__ import annotations

import struct
import sys

import pytest

from drivers import linux
from drivers.clock import RealClock
from drivers.hal import BusUnavailable, GpioInput, SpiDevice, UartPort
from drivers.iis3dwb import Iis3dwb


def test_missing_spi_node_names_the_node_and_the_fix(tmp_path):
    with pytest.raises(BusUnavailable) as info:
        linux.LinuxSpiDevice("/dev/spidev0.0")
    assert str(info.value) == (
        "/dev/spidev0.0: no such SPI device; enable SPI with dtparam=spi=on in "
        "/boot/firmware/config.txt and reboot"
    )
    assert info.value.device == "/dev/spidev0.0"
    with pytest.raises(BusUnavailable, match=r"/dev/spidev6\.0: .*dtoverlay=spi6-1cs"):
        linux.LinuxSpiDevice("/dev/spidev6.0")
    with pytest.raises(BusUnavailable, match="not an SPI device node"):
        linux.LinuxSpiDevice(str(tmp_path / "spi"))


def test_lazy_spi_fails_the_sensor_start_not_the_board():
    spi = linux.LazySpiDevice("/dev/spidev0.1", mode=3)
    assert isinstance(spi, SpiDevice)
    driver = Iis3dwb(spi, RealClock())
    with pytest.raises(BusUnavailable, match=r"/dev/spidev0\.1: no such SPI device"):
        driver.start()


def test_spidev_not_installed(monkeypatch):
    fake = "/dev/spidev0.0"
    monkeypatch.setattr(linux.os.path, "exists", lambda p: p == fake)
    monkeypatch.setitem(sys.modules, "spidev", None)  # import spidev -> ImportError
    with pytest.raises(BusUnavailable, match="spidev Python package is not installed"):
        linux.LinuxSpiDevice(fake)


def test_missing_gpio_chip_and_serial_port():
    with pytest.raises(BusUnavailable, match=r"/dev/gpiochip7: no such GPIO chip"):
        linux.LinuxGpioInput("/dev/gpiochip7", 25)
    with pytest.raises(BusUnavailable, match=r"/dev/ttyUSB9: no such serial port"):
        linux.LinuxUart("/dev/ttyUSB9")


def test_gpio_v2_structures_match_the_kernel_abi():
    # sizes and ioctl numbers of include/uapi/linux/gpio.h (checked against the header)
    assert linux.GPIO_V2_GET_LINE_IOCTL == 0xC250B407
    assert linux.GPIO_V2_LINE_GET_VALUES_IOCTL == 0xC010B40E
    assert linux.GPIO_GET_CHIPINFO_IOCTL == 0x8044B401
    req = linux.line_request(25, "esocore", linux.FLAG_INPUT | linux.FLAG_BIAS_PULL_UP)
    assert len(req) == 592
    assert struct.unpack_from("<I", req, 0)[0] == 25
    assert req[256:263] == b"esocore"
    assert struct.unpack_from("<Q", req, 288)[0] == (1 << 2) | (1 << 8)
    assert struct.unpack_from("<I", req, 560)[0] == 1


def test_classes_satisfy_the_hal_protocols():
    for cls, proto in (
        (linux.LinuxSpiDevice, SpiDevice),
        (linux.LinuxGpioInput, GpioInput),
        (linux.LinuxUart, UartPort),
    ):
        for name in [n for n in dir(proto) if not n.startswith("_")]:
            assert hasattr(cls, name) or name == "name", (cls, name)
