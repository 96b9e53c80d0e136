"""The `drivers.hal` interfaces on Linux: spidev, the GPIO character device, pyserial.

Importable anywhere: spidev and pyserial are imported only when a device is opened, and a
missing device node raises BusUnavailable naming the node and what to do about it.

GPIO uses the kernel's character device (`/dev/gpiochipN`, uAPI v2) through plain ioctls from
the standard library, so no extra package is needed; kernels older than 5.10 (no v2 uAPI) fall
back to the deprecated sysfs interface.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import re
import struct
from pathlib import Path

from .hal import BusUnavailable

SPI_HINT = "enable SPI with dtparam=spi=on in /boot/firmware/config.txt and reboot"
_SPIDEV = re.compile(r"/dev/spidev(\d+)\.(\d+)$")


def spi_hint(path: str) -> str:
    """What to do when an SPI node is missing: SPI0 is dtparam=spi=on, others an overlay."""
    m = _SPIDEV.match(path)
    if m and m.group(1) != "0":
        return (
            f"enable the controller with dtoverlay=spi{m.group(1)}-1cs (or -2cs, -3cs) in "
            "/boot/firmware/config.txt and reboot"
        )
    return SPI_HINT


class LinuxSpiDevice:
    """One chip select through spidev (`/dev/spidevB.C`), opened at construction."""

    def __init__(self, path: str, mode: int = 0, max_speed_hz: int = 1_000_000) -> None:
        self.name = path
        m = _SPIDEV.match(path)
        if not m:
            raise BusUnavailable(path, "not an SPI device node; expected /dev/spidevB.C")
        if not os.path.exists(path):
            raise BusUnavailable(path, f"no such SPI device; {spi_hint(path)}")
        try:
            import spidev
        except ImportError:
            raise BusUnavailable(
                path, "the spidev Python package is not installed (pip install spidev)"
            ) from None
        spi = spidev.SpiDev()
        try:
            spi.open(int(m.group(1)), int(m.group(2)))
            spi.mode = mode
            spi.max_speed_hz = max_speed_hz
            spi.bits_per_word = 8
        except OSError as exc:
            with contextlib.suppress(Exception):
                spi.close()
            hint = " (is the user in the spi group?)" if exc.errno == errno.EACCES else ""
            raise BusUnavailable(path, f"cannot open: {exc.strerror or exc}{hint}") from None
        self._spi = spi
        # xfer3 splits transfers longer than the driver's buffer (bufsiz, 4096 by default)
        # into several segments of ONE message, so chip select stays asserted throughout.
        self._xfer = getattr(spi, "xfer3", spi.xfer2)

    def transfer(self, data: bytes) -> bytes:
        try:
            return bytes(self._xfer(list(data)))
        except OSError as exc:
            raise BusUnavailable(self.name, f"transfer failed: {exc.strerror or exc}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._spi.close()


class LazySpiDevice:
    """Opens the node at the first transfer, so a missing bus fails that sensor's start()
    (a typed SensorError the runtime handles per sensor) instead of the whole board."""

    def __init__(self, path: str, mode: int = 0, max_speed_hz: int = 1_000_000) -> None:
        self.name = path
        self._args = (path, mode, max_speed_hz)
        self._device: LinuxSpiDevice | None = None

    def transfer(self, data: bytes) -> bytes:
        if self._device is None:
            self._device = LinuxSpiDevice(*self._args)
        return self._device.transfer(data)

    def close(self) -> None:
        if self._device is not None:
            self._device.close()
            self._device = None


# -- GPIO character device (uAPI v2) ---------------------------------------------------------


def _iowr(nr: int, size: int) -> int:
    return (3 << 30) | (size << 16) | (0xB4 << 8) | nr


def _ior(nr: int, size: int) -> int:
    return (2 << 30) | (size << 16) | (0xB4 << 8) | nr


LINE_REQUEST_SIZE = 592  # struct gpio_v2_line_request
LINE_VALUES_SIZE = 16  # struct gpio_v2_line_values
CHIPINFO_SIZE = 68  # struct gpiochip_info
GPIO_GET_CHIPINFO_IOCTL = _ior(0x01, CHIPINFO_SIZE)
GPIO_V2_GET_LINE_IOCTL = _iowr(0x07, LINE_REQUEST_SIZE)
GPIO_V2_LINE_GET_VALUES_IOCTL = _iowr(0x0E, LINE_VALUES_SIZE)
FLAG_INPUT = 1 << 2
FLAG_BIAS_PULL_UP = 1 << 8
FLAG_BIAS_PULL_DOWN = 1 << 9
_OFF_CONSUMER = 256
_OFF_FLAGS = 288
_OFF_NUM_LINES = 560
_OFF_FD = 588


def line_request(offset: int, consumer: str, flags: int) -> bytearray:
    """A struct gpio_v2_line_request for one line (offsets[0] = offset)."""
    buf = bytearray(LINE_REQUEST_SIZE)
    struct.pack_into("<I", buf, 0, offset)
    name = consumer.encode()[:31]
    buf[_OFF_CONSUMER : _OFF_CONSUMER + len(name)] = name
    struct.pack_into("<Q", buf, _OFF_FLAGS, flags)
    struct.pack_into("<I", buf, _OFF_NUM_LINES, 1)
    return buf


class LinuxGpioInput:
    """A GPIO input line (e.g. a data-ready pin); read() is the electrical level."""

    def __init__(
        self,
        chip: str = "/dev/gpiochip0",
        line: int = 0,
        *,
        bias: str | None = "pull-up",
        consumer: str = "esocore",
    ) -> None:
        self.name = f"{chip} line {line}"
        self.chip = chip
        self.line = line
        if not os.path.exists(chip):
            raise BusUnavailable(
                chip,
                "no such GPIO chip; check `ls /dev/gpiochip*` (on a Raspberry Pi 4 the "
                "40-pin header is /dev/gpiochip0)",
            )
        flags = (
            FLAG_INPUT
            | {None: 0, "pull-up": FLAG_BIAS_PULL_UP, "pull-down": FLAG_BIAS_PULL_DOWN}[bias]
        )
        self._sysfs: _SysfsLine | None = None
        self._fd: int | None = None
        try:
            chip_fd = os.open(chip, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise BusUnavailable(
                chip, f"cannot open: {exc.strerror} (is the user in the gpio group?)"
            ) from None
        try:
            request = line_request(line, consumer, flags)
            try:
                fcntl.ioctl(chip_fd, GPIO_V2_GET_LINE_IOCTL, request, True)
            except OSError as exc:
                if exc.errno in (errno.ENOTTY, errno.EINVAL) and _sysfs_available():
                    self._sysfs = _SysfsLine(_sysfs_number(chip_fd, line))
                    return
                raise BusUnavailable(
                    chip, f"cannot request line {line}: {exc.strerror} (in use by another program?)"
                ) from None
            self._fd = struct.unpack_from("<i", request, _OFF_FD)[0]
        finally:
            os.close(chip_fd)

    def read(self) -> bool:
        if self._sysfs is not None:
            return self._sysfs.read()
        values = bytearray(struct.pack("<QQ", 0, 1))
        fcntl.ioctl(self._fd, GPIO_V2_LINE_GET_VALUES_IOCTL, values, True)
        return bool(struct.unpack_from("<Q", values, 0)[0] & 1)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _sysfs_available() -> bool:
    return os.path.isdir("/sys/class/gpio")


def _sysfs_number(chip_fd: int, line: int) -> int:
    """Global sysfs number of `line`: the base of the sysfs gpiochip with the same label."""
    info = bytearray(CHIPINFO_SIZE)
    fcntl.ioctl(chip_fd, GPIO_GET_CHIPINFO_IOCTL, info, True)
    label = info[32:64].split(b"\0")[0].decode()
    for entry in glob.glob("/sys/class/gpio/gpiochip*"):
        with contextlib.suppress(OSError):
            if Path(entry, "label").read_text().strip() == label:
                return int(Path(entry, "base").read_text()) + line
    raise BusUnavailable("/sys/class/gpio", f"no sysfs GPIO chip labelled {label!r}")


class _SysfsLine:
    def __init__(self, number: int) -> None:
        base = Path(f"/sys/class/gpio/gpio{number}")
        if not base.exists():
            Path("/sys/class/gpio/export").write_text(str(number))
        (base / "direction").write_text("in")
        self._value = base / "value"

    def read(self) -> bool:
        return self._value.read_text().strip() == "1"


# -- serial ----------------------------------------------------------------------------------


class LinuxUart:
    """A serial port through pyserial (RS-485 adapters for Modbus RTU and PROFIBUS)."""

    def __init__(
        self, path: str, baudrate: int = 19200, parity: str = "E", stopbits: int = 1
    ) -> None:
        self.name = path
        if not os.path.exists(path):
            raise BusUnavailable(
                path,
                "no such serial port; plug in the RS-485 adapter or check `ls /dev/serial/by-id`",
            )
        try:
            import serial
        except ImportError:
            raise BusUnavailable(path, "pyserial is not installed (pip install pyserial)") from None
        try:
            self._port = serial.Serial(
                path, baudrate=baudrate, parity=parity, stopbits=stopbits, timeout=0
            )
        except (OSError, serial.SerialException) as exc:
            raise BusUnavailable(path, f"cannot open: {exc}") from None

    def write(self, data: bytes) -> int:
        return int(self._port.write(data) or 0)

    def read(self, size: int, timeout: float) -> bytes:
        self._port.timeout = timeout
        return bytes(self._port.read(size))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._port.close()
